"""The rehearsal's command line input, checked the way `juju deploy` and `juju config` check it.

Every mistake an operator can make here (a missing file, an application or option that is not
in the bundle, a value of the wrong type, a relation to an endpoint nobody declares) ends in one
`RehearsalError` line naming the fix, never in a traceback or a run that ignores the input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from bundle_model import CharmMeta, external_charms, local_charm_dir, merge, our_charm

from contrail_common.images.releases import UnknownReleaseError, line_for_tag

# What Juju's boolean options accept (Go's strconv.ParseBool, which `juju config` uses).
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class RehearsalError(ValueError):
    """Input the rehearsal cannot run; `str()` is one line that says what to change."""


def load_bundle(bundle: Path, overlays: list[Path]) -> dict[str, Any]:
    """The bundle with its overlays merged, as `juju deploy --overlay` sees it."""
    document = _read_yaml(bundle, "bundle")
    for overlay in overlays:
        # An overlay's charm paths are relative to the overlay, as Juju reads them.
        document = merge(document, _read_yaml(overlay, "overlay"), overlay.parent)
    if not isinstance(document.get("applications"), dict) or not document["applications"]:
        raise RehearsalError(f"{bundle}: the bundle has no applications")
    return document


def _read_yaml(path: Path, what: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise RehearsalError(f"{path}: no such {what} file; give its path") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise RehearsalError(f"{path}: not a readable YAML {what} ({first})") from None
    if not isinstance(document, dict):
        raise RehearsalError(f"{path}: a {what} is a YAML mapping with `applications:`")
    return document


def charms_of(bundle: Path, document: dict[str, Any]) -> dict[str, CharmMeta]:
    """Each application's charm metadata: ours from its directory, Charmed Kubernetes' from
    the recorded metadata. A path that leads nowhere, or a store charm nobody recorded, is an
    error that says so."""
    try:
        recorded = external_charms(channels_of(document))
    except LookupError as error:
        raise RehearsalError(str(error)) from None
    charms: dict[str, CharmMeta] = {}
    for app, spec in document["applications"].items():
        charm = str((spec or {}).get("charm", ""))
        directory = local_charm_dir(bundle, charm)
        if directory is not None:
            if not (directory / "charmcraft.yaml").is_file():
                raise RehearsalError(
                    f"{app}: charm {charm} is not found from {bundle.parent}; rehearse a bundle "
                    "inside the repository's bundles/ folder, or make the path point at charms/"
                )
            charms[app] = our_charm(directory)
        elif charm in recorded:
            charms[app] = recorded[charm]
        else:
            raise RehearsalError(
                f"{app}: charm {charm or '(none)'} is neither one of ours (a ./ path) nor a "
                "recorded Charmed Kubernetes charm; the rehearsal cannot stand in for it"
            )
    return charms


def channels_of(document: dict[str, Any]) -> dict[str, str]:
    """The channel each store charm is pinned to, by charm name (an application may be named
    otherwise, as the vault overlay's vault-root-ca), so its recorded metadata is that
    release's."""
    return {
        str(spec["charm"]): str(spec["channel"])
        for spec in document["applications"].values()
        if (spec or {}).get("channel")
    }


def check_document(document: dict[str, Any], charms: dict[str, CharmMeta]) -> None:
    """Options the charms declare, relations between declared endpoints."""
    for app, spec in document["applications"].items():
        for option in (spec or {}).get("options") or {}:
            _declared(app, option, charms[app])
    for pair in document.get("relations") or []:
        for end in pair:
            _endpoint(str(end), charms)


def _declared(app: str, option: str, charm: CharmMeta) -> dict[str, Any]:
    if option not in charm.options:
        raise RehearsalError(
            f"{app} has no option {option!r}; its options: {', '.join(sorted(charm.options))}"
        )
    return charm.options[option] or {}


def _endpoint(end: str, charms: dict[str, CharmMeta]) -> None:
    app, _, endpoint = end.partition(":")
    if app not in charms:
        raise RehearsalError(f"relation {end}: no application {app} in the bundle")
    if not endpoint:
        raise RehearsalError(f"relation {end}: name the endpoint, as {app}:<endpoint>")
    if charms[app].endpoint(endpoint) is None:
        known = ", ".join(sorted(charms[app].endpoints))
        raise RehearsalError(f"relation {end}: {app} has no endpoint {endpoint}; it has {known}")


def assignment(text: str) -> tuple[str, str, str]:
    """`APP.OPTION=VALUE` split in three; anything else is an error naming the form."""
    target, equals, value = text.partition("=")
    app, dot, option = target.partition(".")
    if not (app and dot and option and equals):
        raise RehearsalError(f"{text!r} is not APP.OPTION=VALUE (an empty value is APP.OPTION=)")
    return app, option, value


def _option(flag: str, app: str, option: str, charms: dict[str, CharmMeta]) -> dict[str, Any]:
    if app not in charms:
        raise RehearsalError(
            f"{flag} {app}.{option}: no application {app} in the bundle; "
            f"its applications: {', '.join(sorted(charms))}"
        )
    return _declared(app, option, charms[app])


def config_value(app: str, option: str, text: str, charms: dict[str, CharmMeta]) -> object:
    """`text` as the option's declared type, as `juju config APP OPTION=TEXT` stores it."""
    kind = _option("--config", app, option, charms).get("type", "string")
    if kind == "boolean":
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise RehearsalError(f"--config {app}.{option}: {text!r} is not true or false")
    if kind in ("int", "integer"):
        try:
            return int(text)
        except ValueError:
            raise RehearsalError(f"--config {app}.{option}: {text!r} is not an integer") from None
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            raise RehearsalError(f"--config {app}.{option}: {text!r} is not a number") from None
    if kind == "secret" and text and not text.startswith("secret:"):
        raise RehearsalError(
            f"--config {app}.{option}: takes a secret URI (secret:...); "
            f"use --secret {app}.{option}=KEY=VALUE to hand one over"
        )
    return text


def secret_content(app: str, option: str, text: str, charms: dict[str, CharmMeta]) -> dict:
    """`KEY=VALUE[,KEY=VALUE]` for `--secret APP.OPTION=...`, as `juju add-secret` takes it."""
    _option("--secret", app, option, charms)
    pairs = [item.partition("=") for item in text.split(",")]
    if not text or any(not key or not equals for key, equals, _ in pairs):
        raise RehearsalError(
            f"--secret {app}.{option}: give the content as KEY=VALUE[,KEY=VALUE], "
            "e.g. password=s3cret"
        )
    return {key: value for key, _, value in pairs}


def release_of(options: dict[str, Any], defaults: dict[str, Any]) -> tuple[str, str, str]:
    """(line, registry, tag) an application's images come from, or why not."""
    merged = {**defaults, **options}
    tag = str(merged.get("image-tag", ""))
    if not tag:
        return "-", "-", "(image-tag not set)"
    try:
        line = line_for_tag(tag, str(merged.get("release-line", "auto")))
    except UnknownReleaseError:
        return "unknown", str(merged.get("docker-registry") or "-"), tag
    return line.name, str(merged.get("docker-registry") or line.registry), tag
