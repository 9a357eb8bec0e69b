"""sandbox/moto_gaps installs each of its families' patches once, and uninstalls them to plain moto,
which the pins in tests/test_moto_gaps_*.py run on."""

from __future__ import annotations

from stackswap.sandbox import moto_gaps


def _moto_attributes() -> dict[str, object]:
    return {name: owner.__dict__.get(attribute)
            for name, (owner, attribute, _) in moto_gaps._patches().items()}


def test_install_patches_each_attribute_once_and_uninstall_restores_moto(plain_moto):
    plain = _moto_attributes()
    moto_gaps.install()
    patched = _moto_attributes()
    assert all(patched[name] is not plain[name] for name in plain)
    moto_gaps.install(stack_operations=object(), target_health=object())  # hooks only
    assert _moto_attributes() == patched
    moto_gaps.uninstall()
    assert _moto_attributes() == plain
