"""TLS for the whole deployment, from any `tls-certificates` provider.

- `component.TlsCertificates`: the `certificates` endpoint the base composes (evaluate, apply).
- `names`: the names a unit's certificate carries, and its request.
- `certificate`: the issued certificate as files, and the checks it must pass.
- `files`: the files on the host, written atomically, the key readable by the images only.
- `switch`: the deployment-wide switch, decided by the controller leader.
- `fields`: the relation fields the switch travels in.
- `env`: the env, mount and label of each container, from `images/tls.yaml`.
"""
