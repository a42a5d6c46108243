"""Rotation on the kubernetes target without a server: an unknown identity is refused before
anything is written or any cluster is contacted. The rotation itself (root's Secret-hash roll,
a service identity's own Secret) is tested on the real control plane in test_rotation_live.py."""

from __future__ import annotations

import pytest

from platform_defs import credentials
from platform_defs.errors import IdentityError
from platform_defs.settings import load_settings
from platform_defs.targets import select


def test_unknown_identity_is_refused_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_KUBECONFIG", "/nonexistent/kubeconfig")
    distributor = select(load_settings(target="kubernetes")).credential_distributor()
    with pytest.raises(IdentityError, match="Unknown service identity 'etl'"):
        distributor.publish("etl", credentials.generate("etl"))
