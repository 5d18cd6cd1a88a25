"""Issuer AUM providers: one module per issuer, each a subclass of
:class:`~lev_flows.inputs.sources.issuer_aum.base.IssuerAumProvider` named by the module's
``PROVIDER``. :func:`provider_classes` imports them when asked (the CLI's start-up stays light).
"""

from __future__ import annotations

from importlib import import_module

#: the modules, in the order ``aum update`` lists them
MODULES = (
    "proshares",
    "direxion",
    "graniteshares",
    "microsectors",
    "tradr",
    "defiance",
    "rex",
    "volatilityshares",
    "leverageshares",
    "roundhill",
)


def provider_classes() -> dict:
    """Canonical issuer name -> provider class."""
    out = {}
    for name in MODULES:
        cls = import_module(f"{__name__}.{name}").PROVIDER
        out[cls.issuer] = cls
    return out


__all__ = ["MODULES", "provider_classes"]
