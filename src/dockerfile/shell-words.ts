// Word splitting for the shell lexer (shell-lexer.ts): BuildKit's wordsStruct, which splits on Go's
// unicode.IsSpace outside quotes while an expansion run builds its result.
import { isGoSpace } from '../support/index.js';

/** The words being split; `buf` is shared by nested calls, as in BuildKit (see Run.processStopOn). */
export class Words {
  words: string[] = [];
  inWord = false;
  constructor(private readonly buf: { s: string }) {}

  addRawChar(ch: number): void {
    this.buf.s += String.fromCodePoint(ch);
    this.inWord = true;
  }

  /**
   * Each character of `s` in turn: a space ends the current word (if it has characters), anything
   * else is added to it. A piece at a time: Go's spaces are all in the BMP.
   */
  addString(s: string): void {
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      if (!isGoSpace(s.charCodeAt(i))) continue;
      if (i > start) this.addRawString(s.slice(start, i));
      this.endWord();
      start = i + 1;
    }
    if (start < s.length) this.addRawString(s.slice(start));
  }

  addRawString(s: string): void {
    this.buf.s += s;
    this.inWord = true;
  }

  getWords(): string[] {
    if (this.buf.s.length > 0) {
      this.words.push(this.buf.s);
      this.buf.s = '';
      this.inWord = false;
    }
    return this.words;
  }

  private endWord(): void {
    if (this.inWord && this.buf.s.length !== 0) {
      this.words.push(this.buf.s);
      this.buf.s = '';
      this.inWord = false;
    }
  }
}
