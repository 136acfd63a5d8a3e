"""Venue adapters: what each venue profile wants on the wire and what its reports mean."""
from fxpipe.oms.venues.adapters import ADAPTERS, EcnAdapter, LastLookAdapter, VenueAdapter, adapter_for

__all__ = ["ADAPTERS", "EcnAdapter", "LastLookAdapter", "VenueAdapter", "adapter_for"]
