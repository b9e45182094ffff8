/**
 * codeBlock returns the text of the one fenced block of `markdown` whose info string is `lang
 * title=<title>`, so a doc's example can be compared with the code that tests it; none or several
 * is an error (a renamed block must not make a test pass by comparing nothing).
 */
export function codeBlock(markdown: string, lang: string, title: string): string {
  const fence = new RegExp(`^\`\`\`${lang} title=${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n([\\s\\S]*?)^\`\`\`$`, 'gm');
  const blocks = [...markdown.matchAll(fence)].map((match) => match[1]!);
  if (blocks.length !== 1) throw new Error(`expected one \`\`\`${lang} title=${title} block, found ${blocks.length}`);
  return blocks[0]!;
}

/** indent puts `spaces` spaces before each non-empty line of `text`. */
export function indent(text: string, spaces: number): string {
  return text.replace(/^(?=.)/gm, ' '.repeat(spaces));
}
