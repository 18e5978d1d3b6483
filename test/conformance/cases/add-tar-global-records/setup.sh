# A PAX global header ('g') that sets uid, gid, uname, mtime and even path: Go's archive/tar
# returns it as an entry of its own and applies none of it to the entries after it (moby's untar
# then skips it), so the files keep their own ids.
python3 - <<'PY'
import tarfile, io
t = tarfile.open('global.tar', 'w', format=tarfile.PAX_FORMAT,
                 pax_headers={'uid': '77', 'gid': '88', 'uname': 'nobody', 'mtime': '5', 'comment': 'kiln'})
for name, uid in (('a.txt', 1), ('sub/b.txt', 2)):
    data = (name + '\n').encode()
    i = tarfile.TarInfo(name); i.size = len(data); i.uid = uid; i.gid = uid; i.mode = 0o640; i.mtime = 1000000000
    t.addfile(i, io.BytesIO(data))
t.close()
PY
