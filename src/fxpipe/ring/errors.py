"""Errors of the shared-memory ring. Each says which ring, what was wrong and what to do."""


class RingError(Exception):
    """Base of every ring error."""


class RingLayoutError(RingError):
    """The segment is not an fxpipe ring of this layout version, or not what the caller expects."""


class RingExistsError(RingError):
    """A live ring of that name exists already."""


class StaleRingError(RingError):
    """A ring segment left behind by a creator that is gone."""


class RingTimeout(RingError):
    """A wait or claim gave up at its timeout."""


class RingFull(RingTimeout):
    """The ring stayed full (a gating consumer did not release) until the claim's timeout."""


class RingClosed(RingError):
    """The producer closed the stream and every published event has been read."""


class ConsumerError(RingError):
    """Unknown consumer, consumer already attached by a live process, bad dependency."""


class ConsumerDetached(ConsumerError):
    """This consumer was detached (by an operator, the supervisor or the producer's auto-detach)
    while it ran: the producer no longer honours it and may have reused the slot it was reading,
    so nothing it read since is trusted. Attach again (it rejoins at the live edge)."""
