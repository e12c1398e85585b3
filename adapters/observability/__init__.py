"""Observability: what floe tells operators about a run besides its output.

This package owns logs and traces: loggers that configure structlog on first use and the
one trace id every log line carries (:mod:`.logs`), structlog's stderr rendering and
secret redaction (:mod:`.structlog_setup`), spans with a trace id chosen up front
(:mod:`.tracing`), and the OpenTelemetry SDK exporter, imported only when spans are
exported (:mod:`.otel_sdk`). Nothing is imported here: ``status`` must stay fast.
"""
