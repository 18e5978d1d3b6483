printf '# Heredoc terminators: EOF\\r in an LF file; the last one at end of file without newline.\nFROM busybox\nCOPY <<EOF /cr.txt\nbody one\nEOF\r\nCOPY <<END /last.txt\nbody two\nEND' > Dockerfile
