# A hostile archive (made here with GNU tar's --transform; -P keeps ../ and / in names).
printf 'escape\n' > f1
printf 'abs\n' > f2
printf 'through link\n' > f3
ln -s / evil
T='--numeric-owner --owner=0 --group=0 -P'
tar $T -cf hostile.tar --transform 's,^f1$,../../escape.txt,' f1
tar $T -rf hostile.tar --transform 's,^f2$,/abs-inside.txt,' f2
tar $T -rf hostile.tar evil
tar $T -rf hostile.tar --transform 's,^f3$,evil/tmp/through-link.txt,' f3
rm -f f1 f2 f3 evil
