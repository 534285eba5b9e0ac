"""Reading credentials the operator hands over as Juju user secrets."""

from __future__ import annotations

import ops

from .containers import RegistryCredentials
from .text import unsafe_problem


class SecretProblem(Exception):
    """A referenced secret cannot be used; the message says what to do."""


def registry_credentials(model: ops.Model, option: str, uri: str) -> RegistryCredentials:
    """The `username` / `password` pair of a user secret named by config option `option`."""
    try:
        content = model.get_secret(id=uri).get_content(refresh=True)
    except ops.SecretNotFoundError:
        raise SecretProblem(
            f"{option}: secret {uri} not found or not granted "
            f"(juju grant-secret {uri} {model.app.name})"
        ) from None
    except ops.ModelError as error:
        raise SecretProblem(f"{option}: secret {uri} cannot be read ({error})") from None
    username, password = content.get("username"), content.get("password")
    if not username or not password:
        raise SecretProblem(f"{option}: secret {uri} needs the keys username and password")
    for key, value in (("username", username), ("password", password)):
        problem = unsafe_problem(value)
        if problem:  # the engines take one line; never say what the value is
            raise SecretProblem(
                f"{option}: the {key} in secret {uri} {problem}: set it without one "
                "(juju update-secret)"
            )
    return RegistryCredentials(username=username, password=password)
