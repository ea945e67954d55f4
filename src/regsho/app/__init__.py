"""Use cases: wiring the engine, the adapters, the store and the reports (replay a file, check expectations,
import into the store, the daily close-out run). The command line and the service call these."""
