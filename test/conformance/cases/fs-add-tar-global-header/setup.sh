python3 - <<'PY'
import tarfile, io
t = tarfile.open('global.tar', 'w', format=tarfile.PAX_FORMAT, pax_headers={'comment': 'abc123'})
i = tarfile.TarInfo('file'); i.size = 2; i.mode = 0o644; i.mtime = 1000000000
t.addfile(i, io.BytesIO(b'g\n'))
t.close()
PY
