python3 - <<'PY'
import tarfile, io
t = tarfile.open('cont.tar', 'w', format=tarfile.USTAR_FORMAT)
i = tarfile.TarInfo('contiguous'); i.type = tarfile.CONTTYPE; i.size = 5; i.mode = 0o644; i.mtime = 1000000000
t.addfile(i, io.BytesIO(b'cont\n'))
t.close()
PY
