"""Pull failures are classified from the engines' own error texts."""

from __future__ import annotations

import pytest

from contrail_common.containers import ImagePullError, PullFailure
from contrail_common.containers.errors import classify_pull_failure


@pytest.mark.parametrize(
    "text, cause",
    [
        # ctr (containerd 1.6)
        (
            'failed to resolve reference "r/a:1": pulling from host r failed with status code '
            "[manifests 1]: 401 Unauthorized",
            PullFailure.UNAUTHORIZED,
        ),
        ('failed to resolve reference "r/a:1": r/a:1: not found', PullFailure.NOT_FOUND),
        (
            'failed to resolve reference "r/a:1": failed to do request: Head "http://r/v2/a/manifests/1":'
            " dial tcp 127.0.0.1:1: connect: connection refused",
            PullFailure.UNREACHABLE,
        ),
        # Docker Engine 20.10
        ("Head https://r/v2/a/manifests/1: no basic auth credentials", PullFailure.UNAUTHORIZED),
        ("Get http://r/v2/: unauthorized: authentication required", PullFailure.UNAUTHORIZED),
        (
            "manifest for r/a:1 not found: manifest unknown: manifest unknown",
            PullFailure.NOT_FOUND,
        ),
        ('Get "http://r/v2/": dial tcp: lookup r: no such host', PullFailure.UNREACHABLE),
        ("something else entirely", PullFailure.OTHER),
    ],
)
def test_classification(text, cause):
    assert classify_pull_failure(text) == cause


def test_message_names_image_registry_and_cause():
    error = ImagePullError("r:5000/a:1", "r:5000", PullFailure.NOT_FOUND, "manifest unknown")
    assert str(error) == (
        "cannot pull r:5000/a:1 from r:5000: image not found (check the image name and tag): "
        "manifest unknown"
    )
