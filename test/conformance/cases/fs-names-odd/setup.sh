python3 - <<'PY'
import os
os.makedirs('n', exist_ok=True)
names = ['new\nline', 'tab\there', 'back\\slash', ' lead', 'trail ', '...', '..x', 'caf\u00e9', 'cafe\u0301', 'L' * 255, '-', '*', '?', '[', ']', '{a,b}', '$HOME', '~']
for i, n in enumerate(names):
    with open(os.path.join('n', n), 'w') as fh: fh.write('%d\n' % i)
os.makedirs(os.path.join('n', 'dir with\nnewline'), exist_ok=True)
with open(os.path.join('n', 'dir with\nnewline', 'f'), 'w') as fh: fh.write('f\n')
PY
