mkdir -p ctxdir/inner
echo c > ctxdir/c
chmod 0700 ctxdir
chmod 0711 ctxdir/inner
