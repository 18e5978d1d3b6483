# The context tree and its .dockerignore (dot files and empty dirs are made here).
mkdir -p docs/keep docs/drop a/b/c logs empty-dir
echo d > docs/readme.md; echo k > docs/keep/important.md; echo x > docs/drop/x.md
echo c > a/b/c/deep.log; echo top > top.log; echo l > logs/app.log
echo 1 > f1.txt; echo 2 > f2.txt; echo 9 > f9.txt; echo ab > fa.txt
echo hidden > .hidden
cat > .dockerignore <<'IGN'
# a comment line
/top.log
**/*.log
!a/b/c/deep.log
docs/**
!docs/keep
!docs/keep/**
f[1-2].txt
f?.txt
!f9.txt
Dockerfile
.dockerignore
empty-dir
IGN
