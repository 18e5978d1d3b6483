python3 - <<'PY'
import tarfile, io
t = tarfile.open('order.tar', 'w', format=tarfile.PAX_FORMAT)
def f(name, data=b'', mode=0o644, uid=0, gid=0, typ=tarfile.REGTYPE, link=''):
    i = tarfile.TarInfo(name); i.mode = mode; i.uid = uid; i.gid = gid; i.type = typ; i.linkname = link; i.mtime = 1000000000
    if typ == tarfile.REGTYPE:
        i.size = len(data); t.addfile(i, io.BytesIO(data))
    else:
        t.addfile(i)
D = tarfile.DIRTYPE
f('d/sub/f', b'first\n')
f('d/sub', mode=0o700, uid=5, gid=6, typ=D)
f('d', mode=0o750, uid=7, gid=8, typ=D)
f('dup', b'one\n', mode=0o600)
f('dup', b'two\n', mode=0o640, uid=3, gid=3)
f('f2d', b'file\n')
f('f2d', mode=0o755, typ=D)
f('f2d/in', b'in\n')
f('d2f', mode=0o755, typ=D)
f('d2f/child', b'child\n')
f('d2f', b'now file\n')
f('hl', typ=tarfile.LNKTYPE, link='d/sub/f')
f('zero', mode=0, typ=D)
f('zero/below', b'below\n', mode=0)
f('all', b'all\n', mode=0o7777)
t.close()
PY
