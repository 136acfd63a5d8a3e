"""What the people who run the book live use: the OpsView over every ring, status sections in
shared memory, `fxpipe status`, `fxpipe ctl`, `fxpipe metrics`, JSON-lines logs and alarms.
See docs/operations.md."""
