python3 - <<'PY'
import tarfile, io
t = tarfile.open('links.tar', 'w', format=tarfile.PAX_FORMAT)
def f(name, data=b'', mode=0o644, typ=tarfile.REGTYPE, link=''):
    i = tarfile.TarInfo(name); i.mode = mode; i.type = typ; i.linkname = link; i.mtime = 1000000000
    if typ == tarfile.REGTYPE:
        i.size = len(data); t.addfile(i, io.BytesIO(data))
    else:
        t.addfile(i)
f('target', b'target\n')
f('sym', typ=tarfile.SYMTYPE, link='target', mode=0o777)
f('hl-to-sym', typ=tarfile.LNKTYPE, link='sym')
f('dangling', typ=tarfile.SYMTYPE, link='nowhere', mode=0o777)
f('hl-to-dangling', typ=tarfile.LNKTYPE, link='dangling')
f('./hl-dot', typ=tarfile.LNKTYPE, link='target')
f('typed-dir', mode=0o100750, typ=tarfile.DIRTYPE)
f('typed-file', b'tf\n', mode=0o040640)
t.close()
PY
