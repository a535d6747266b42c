"""Signed bundles: what a unit hands in, and how anyone checks it offline.

A unit signs its submission (plus the evaluation, framework hash, software and time) in a
DSSE envelope with its own key (Ed25519, or SM2 with SM3); the download is one zip with the
envelope, the official 附件6/附件7 spreadsheet (which carries the envelope on a very hidden
sheet) and a printable HTML. A supervisor verifies any of the three against a roster of unit
keys that the supervisor signs. Pure Python throughout, so the browser runs the same code.
"""

from __future__ import annotations

from .archive import Prepared, build_bundle, bundle_stem, finish_bundle, prepare_bundle
from .envelope import ROSTER_TYPE, SUBMISSION_TYPE, Envelope, Signature, pae, parse_envelope
from .keys import PrivateKey, PublicKey, key_file_json, read_key_file, read_public_key_file
from .passphrase import decrypt_private_key, encrypt_private_key
from .roster import Roster, load_roster
from .verify import Check, Verdict, verify_file, verify_path

__all__ = [
    "ROSTER_TYPE",
    "SUBMISSION_TYPE",
    "Check",
    "Envelope",
    "Prepared",
    "PrivateKey",
    "PublicKey",
    "Roster",
    "Signature",
    "Verdict",
    "build_bundle",
    "bundle_stem",
    "decrypt_private_key",
    "encrypt_private_key",
    "finish_bundle",
    "key_file_json",
    "load_roster",
    "pae",
    "parse_envelope",
    "prepare_bundle",
    "read_key_file",
    "read_public_key_file",
    "verify_file",
    "verify_path",
]
