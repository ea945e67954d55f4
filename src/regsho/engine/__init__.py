"""The pre-trade gate (pure) and its stateful shell; replay."""
