"""The normalized inventory: one Resource record type for every provider."""

from stratusec.inventory.models import Relationship, Resource, jsonable

__all__ = ["Relationship", "Resource", "jsonable"]
