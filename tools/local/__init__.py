"""The local system: the whole topology on one machine, services running from their zips."""
