python3 - <<'PY'
import tarfile, io
t = tarfile.open('owners.tar', 'w', format=tarfile.PAX_FORMAT)
def f(name, uid, gid, uname, gname):
    i = tarfile.TarInfo(name); i.mode = 0o644; i.uid = uid; i.gid = gid; i.uname = uname; i.gname = gname; i.size = 2; i.mtime = 1000000000
    t.addfile(i, io.BytesIO(b'o\n'))
f('app-name-1234', 1234, 1234, 'app', 'app')
f('root-name-42', 42, 43, 'root', 'root')
f('unknown-name-0', 0, 0, 'nosuchuser', 'nosuchgroup')
f('big-ids', 3000000, 4000000, '', '')
t.close()
PY
