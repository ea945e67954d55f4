"""Public market data as columnar expressions: SEC fails, threshold status (17 CFR 242.203(c)(6)), the threshold
watch, the market monitor, the same on Spark, a downloader, and the SRO lists as the engine's events.

Imports only ``core``, ``law``, ``calendars`` and ``adapters``' parsers; nothing here touches the engine or the
store (``regsho.app`` wires them).
"""
