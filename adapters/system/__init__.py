"""The machine floe runs on, as the application services' Clock port sees it: wall-clock
time, jittered waits between retries and fresh random ids."""
