"""The data directory holds the database, the signing key and every blob: Gallery makes it
private to its owner, and the signing key readable by its owner only."""

from __future__ import annotations

from pathlib import Path

from registry.settings import Settings


def test_a_new_data_dir_and_its_key_are_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "fresh" / "gallery")
    key = settings.resolved_secret_key()
    assert settings.data_dir.stat().st_mode & 0o777 == 0o700
    assert (settings.data_dir / "secret.key").stat().st_mode & 0o777 == 0o600
    assert settings.resolved_secret_key() == key  # generated once, then kept


def test_an_existing_data_dir_is_left_as_the_operator_made_it(tmp_path: Path) -> None:
    tmp_path.chmod(0o750)
    assert Settings(data_dir=tmp_path).ensure_data_dir() == tmp_path
    assert tmp_path.stat().st_mode & 0o777 == 0o750
