"""What keeps the console safe to run and safe to share.

`policy` holds the process's rules (who may reach it, which upstreams and images are allowed, the
limits); `origins` decides on Host and Origin headers; `auth` keeps the login; `headers` writes the
security headers and the page's script nonce; `middleware` applies all of it to every request, the
Socket.IO endpoint included; `upstream` judges the addresses visitors ask the console to connect to;
`limits` enforces the resource caps; `install` wires it into the NiceGUI app.
"""
