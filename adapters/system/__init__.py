"""The machine floe runs on, as the application services' Clock port sees it: wall-clock
time, jittered waits between retries and fresh random ids; and the network rules the
adapters share (``net``: loopback hosts, origins, size-capped reads)."""
