# app.tar: served gzipped as app.tar.gz (routes.json).
mkdir -p t/app
printf 'in tar\n' > t/app/readme
tar --numeric-owner --owner=0 --group=0 --mtime=@0 -C t -cf http/app.tar app
rm -rf t
