python3 - <<'PY'
import tarfile, io
t = tarfile.open('over.tar', 'w', format=tarfile.PAX_FORMAT)
def f(name, data=b'', mode=0o644, uid=0, gid=0, typ=tarfile.REGTYPE, link=''):
    i = tarfile.TarInfo(name); i.mode = mode; i.uid = uid; i.gid = gid; i.type = typ; i.linkname = link; i.mtime = 1000000000
    if typ == tarfile.REGTYPE:
        i.size = len(data); t.addfile(i, io.BytesIO(data))
    else:
        t.addfile(i)
f('dir', mode=0o755, uid=11, gid=12, typ=tarfile.DIRTYPE)
f('dir/added', b'added\n')
f('file', b'new\n', mode=0o644, uid=13, gid=14)
f('was-link', b'replaces link\n')
f('was-file', typ=tarfile.SYMTYPE, link='target', mode=0o777)
f('hl-to-image', typ=tarfile.LNKTYPE, link='image-only')
t.close()
PY
