# Event schemas as contracts: the lock of released versions and the AsyncAPI document.

.PHONY: schema-lock
schema-lock: $(VENV)/.installed ## Lock new event schema versions (released ones never change)
	$(PY) -m tools.schemas lock
