"""The machine floe runs on, as the application services' Clock port sees it: wall-clock
time, jittered waits between retries and fresh random ids; the network rules the adapters
share (``net``: loopback hosts, origins, size-capped reads); and, for tests only, the crash
points that kill the process after a chosen durable step (``crash_points``)."""
