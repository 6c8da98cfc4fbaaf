"""The credentials' signing keys (Ed25519), kept in a secrets file county IT rotates.

    signing: k20261202a          # the key that signs new credentials
    keys:
      k20261202a: |              # key id -> PEM private key
        -----BEGIN PRIVATE KEY-----
        ...

Every key in the file verifies; the `signing` one signs. Rotation without downtime: `rotate` adds a
new key and makes it the signing key, keeping the one before it so that credentials it signed stay
valid until they expire; the API processes learn the new public key from the identity service's
trust within seconds, and at once when a credential names it. Older keys are dropped.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from services.yamlfile import ConfigFileError, Document

KeyId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


class _KeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signing: KeyId
    keys: dict[KeyId, str]

    @model_validator(mode="after")
    def _signing_known(self) -> _KeysFile:
        if self.signing not in self.keys:
            raise ValueError(f"the signing key {self.signing!r} is not among the keys")
        return self


@dataclass(frozen=True)
class SigningKeys:
    signing: str
    private: dict[str, Ed25519PrivateKey]

    def signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        return self.signing, self.private[self.signing]

    def public_pems(self) -> dict[str, str]:
        return {kid: key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
                for kid, key in self.private.items()}


def read_keys(path: Path) -> SigningKeys:
    """The keys of the secrets file; a bad file raises ConfigFileError naming its line (never a key)."""
    document = Document(path)
    data = document.validate(_KeysFile, secret=True)
    private = {}
    for kid, pem in data.keys.items():
        try:
            key = serialization.load_pem_private_key(pem.encode(), password=None)
        except (ValueError, TypeError):
            key = None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigFileError(path, [document.problem(("keys", kid), "not a PEM Ed25519 private key")])
        private[kid] = key
    return SigningKeys(data.signing, private)


def rotate(path: Path, today: dt.date | None = None) -> str:
    """Add a new signing key (a new file for a new install), keep the one before it, drop older
    ones; the new key's id."""
    kept: dict[str, str] = {}
    if path.exists():
        current = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if current.get("signing") in current.get("keys", {}):
            kept[current["signing"]] = current["keys"][current["signing"]]
    kid = f"k{(today or dt.date.today()):%Y%m%d}{secrets.token_hex(3)}"
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()).decode()
    _write(path, {"signing": kid, "keys": {**kept, kid: pem}})
    return kid


class _Dumper(yaml.SafeDumper):
    """PEM blocks as YAML literal blocks, readable as they are."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def _write(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # a new file beside it, then renamed: a crash leaves the old keys or the new ones, never half
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(yaml.dump(content, Dumper=_Dumper, sort_keys=False))
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
