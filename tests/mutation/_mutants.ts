/**
 * Mutant generation from source text: a small TypeScript lexer, a marker of
 * type-only regions, and the fixed set of mutation operators.
 *
 * The lexer knows comments, strings, template literals, regular expressions,
 * numbers, identifiers and punctuators, which is enough to never mutate
 * inside a comment or a string. Type-only regions (imports, interfaces, type
 * aliases, annotations of parameters, variables, class fields and return
 * types, generic argument lists, `as` and `satisfies` clauses) are marked by
 * heuristics that rely on `deno fmt` layout (binary operators are spaced,
 * generic brackets are not); whatever they miss, the driver's type check of
 * each mutant turns into "not viable", never into "killed".
 *
 * @module
 */

/** The names of the mutation operators, in the order they are applied. */
export const OPERATORS = [
  "equality",
  "relational",
  "logical",
  "boolean",
  "number",
  "call",
  "if",
  "return",
  "array",
  "guards",
] as const;

/** One mutation operator's name. */
export type OperatorName = typeof OPERATORS[number];

/** What each operator does, for the report and tests/mutation/README.md. */
export const OPERATOR_DESCRIPTIONS: Readonly<Record<OperatorName, string>> = {
  equality: "=== <-> !==, == <-> !=",
  relational: "< -> <=, <= -> <, > -> >=, >= -> > (spaced binary operators only)",
  logical: "&& <-> ||",
  boolean: "true <-> false",
  number: "a numeric literal n -> n + 1, and n -> 0 when n is not 0",
  call: "remove a statement that is only a call (`f(x);`, `await this.#g();`)",
  if: "negate an if condition: if (c) -> if (!(c))",
  return: "return e; -> return undefined;",
  array: "remove one element of an array literal of plain values (names, codes, strings, numbers)",
  guards: "swap two adjacent guarded transitions in an array of transition objects",
};

/** One lexical token. */
export interface Token {
  /** Token class. */
  readonly kind: "ident" | "private" | "number" | "string" | "template" | "regex" | "punct";
  /** The source text of the token. */
  readonly text: string;
  /** Offset of the first character. */
  readonly start: number;
  /** Offset after the last character. */
  readonly end: number;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly col: number;
  /** Whitespace or a comment separates this token from the previous one. */
  readonly spaced: boolean;
}

/** One mutant: a replacement of a source range. */
export interface Mutant {
  /** Stable identifier: file, position, operator and replacement. */
  readonly id: string;
  /** Repository-relative path of the mutated file. */
  readonly file: string;
  /** 1-based line of the mutated range. */
  readonly line: number;
  /** 1-based column of the mutated range. */
  readonly col: number;
  /** The operator that made it. */
  readonly operator: OperatorName;
  /** Offset where the replaced range starts. */
  readonly start: number;
  /** Offset where the replaced range ends. */
  readonly end: number;
  /** The replacement text. */
  readonly replacement: string;
  /** One line: original -> replacement, shortened. */
  readonly description: string;
}

const PUNCTUATORS = [
  ">>>=",
  "...",
  "===",
  "!==",
  "**=",
  "<<=",
  ">>=",
  ">>>",
  "&&=",
  "||=",
  "??=",
  "=>",
  "==",
  "!=",
  "<=",
  ">=",
  "&&",
  "||",
  "??",
  "?.",
  "++",
  "--",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "**",
  "<<",
  ">>",
];

const KEYWORDS_BEFORE_EXPRESSION = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

function isIdentStart(ch: string): boolean {
  return /[A-Za-z_$\u00a0-\uffff]/.test(ch);
}

function isIdentPart(ch: string): boolean {
  return /[A-Za-z0-9_$\u00a0-\uffff]/.test(ch);
}

/**
 * Splits TypeScript source into tokens, dropping whitespace and comments.
 *
 * @param source The source text.
 * @returns The tokens in order.
 * @throws {SyntaxError} On an unterminated string, comment or template.
 */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const lineStarts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === "\n") lineStarts.push(i + 1);
  const position = (offset: number): { line: number; col: number } => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (lineStarts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, col: offset - lineStarts[low]! + 1 };
  };
  let i = 0;
  let spaced = false;
  const push = (kind: Token["kind"], start: number, end: number): void => {
    tokens.push({ kind, text: source.slice(start, end), start, end, ...position(start), spaced });
    spaced = false;
  };
  while (i < source.length) {
    const ch = source[i]!;
    const next = source[i + 1];
    if (/\s/.test(ch)) {
      i++;
      spaced = true;
    } else if (ch === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
      spaced = true;
    } else if (ch === "/" && next === "*") {
      const close = source.indexOf("*/", i + 2);
      if (close < 0) throw new SyntaxError(`Cannot tokenize: unterminated comment at ${i}`);
      i = close + 2;
      spaced = true;
    } else if (ch === '"' || ch === "'") {
      const start = i++;
      while (i < source.length && source[i] !== ch) {
        if (source[i] === "\\") i++;
        if (source[i] === "\n") throw new SyntaxError(`Cannot tokenize: unterminated string`);
        i++;
      }
      i++;
      push("string", start, i);
    } else if (ch === "`") {
      const start = i;
      i = skipTemplate(source, i);
      push("template", start, i);
    } else if (/[0-9]/.test(ch) || (ch === "." && /[0-9]/.test(next ?? ""))) {
      const start = i;
      while (i < source.length && /[0-9A-Za-z_.]/.test(source[i]!)) {
        // An exponent sign belongs to the number: 1e-9.
        if (
          /[eE]/.test(source[i]!) && /[+-]/.test(source[i + 1] ?? "") &&
          !/^0[xX]/.test(source.slice(start, i))
        ) i++;
        i++;
      }
      push("number", start, i);
    } else if (ch === "#" && isIdentStart(next ?? "")) {
      const start = i++;
      while (i < source.length && isIdentPart(source[i]!)) i++;
      push("private", start, i);
    } else if (isIdentStart(ch)) {
      const start = i;
      while (i < source.length && isIdentPart(source[i]!)) i++;
      push("ident", start, i);
    } else if (ch === "/" && regexAllowed(tokens.at(-1))) {
      const start = i++;
      let inClass = false;
      while (i < source.length && (inClass || source[i] !== "/")) {
        if (source[i] === "\\") i++;
        else if (source[i] === "[") inClass = true;
        else if (source[i] === "]") inClass = false;
        i++;
      }
      i++;
      while (i < source.length && /[a-z]/.test(source[i]!)) i++;
      push("regex", start, i);
    } else {
      const punct = PUNCTUATORS.find((p) => source.startsWith(p, i)) ?? ch;
      push("punct", i, i + punct.length);
      i += punct.length;
    }
  }
  return tokens;
}

function regexAllowed(previous: Token | undefined): boolean {
  if (previous === undefined) return true;
  if (previous.kind === "ident") return KEYWORDS_BEFORE_EXPRESSION.has(previous.text);
  if (previous.kind !== "punct") return false;
  return ![")", "]", "}", "++", "--"].includes(previous.text);
}

/** Returns the offset after the template literal that starts at `start`. */
function skipTemplate(source: string, start: number): number {
  let i = start + 1;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === "\\") i += 2;
    else if (ch === "`") return i + 1;
    else if (ch === "$" && source[i + 1] === "{") i = skipCode(source, i + 2);
    else i++;
  }
  throw new SyntaxError(`Cannot tokenize: unterminated template at ${start}`);
}

/** Returns the offset after the `}` that closes a `${` substitution. */
function skipCode(source: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '"' || ch === "'") {
      i++;
      while (i < source.length && source[i] !== ch) i += source[i] === "\\" ? 2 : 1;
      i++;
    } else if (ch === "`") {
      i = skipTemplate(source, i);
    } else if (ch === "{") {
      depth++;
      i++;
    } else if (ch === "}") {
      if (depth === 0) return i + 1;
      depth--;
      i++;
    } else {
      i++;
    }
  }
  throw new SyntaxError(`Cannot tokenize: unterminated substitution at ${start}`);
}

const OPEN: Readonly<Record<string, string>> = { "(": ")", "[": "]", "{": "}" };

/**
 * Pairs every bracket token with its partner.
 *
 * @param tokens The tokens.
 * @returns For each token index of a bracket, the index of its partner (else -1).
 */
function matchBrackets(tokens: readonly Token[]): Int32Array {
  const partner = new Int32Array(tokens.length).fill(-1);
  const stack: number[] = [];
  tokens.forEach((token, index) => {
    if (token.kind !== "punct") return;
    if (OPEN[token.text] !== undefined) stack.push(index);
    else if (token.text === ")" || token.text === "]" || token.text === "}") {
      const open = stack.pop();
      if (open !== undefined) {
        partner[open] = index;
        partner[index] = open;
      }
    }
  });
  return partner;
}

/** Tokens after which a `{` starts an object type inside a type. */
const TYPE_OBJECT_PRECEDERS = new Set([":", "|", "&", "<", ",", "(", "=>", "[", "readonly", "="]);

/** Parsed structure shared by the operators. */
interface Analysis {
  readonly tokens: readonly Token[];
  readonly partner: Int32Array;
  /** Token indexes inside a type-only region. */
  readonly inType: Uint8Array;
}

function analyse(source: string): Analysis {
  const tokens = tokenize(source);
  const partner = matchBrackets(tokens);
  const inType = new Uint8Array(tokens.length);
  const mark = (from: number, to: number): void => {
    for (let k = Math.max(0, from); k < Math.min(to, tokens.length); k++) inType[k] = 1;
  };
  const text = (k: number): string | undefined => tokens[k]?.text;

  /** Index after a type that starts at `from`; stops at a depth-0 terminator. */
  const skipType = (from: number, returnType: boolean): number => {
    let k = from;
    let angle = 0;
    while (k < tokens.length) {
      const token = tokens[k]!;
      const t = token.text;
      if (token.kind === "punct") {
        if (t === "(" || t === "[") {
          k = partner[k]! < 0 ? k + 1 : partner[k]! + 1;
          continue;
        }
        if (t === "{") {
          const before = text(k - 1);
          if (k === from || (before !== undefined && TYPE_OBJECT_PRECEDERS.has(before))) {
            k = partner[k]! < 0 ? k + 1 : partner[k]! + 1;
            continue;
          }
          if (angle === 0) return k;
          k = partner[k]! + 1;
          continue;
        }
        if (t === "<") angle++;
        else if (t === ">") angle--;
        else if (t === ">>") angle -= 2;
        else if (t === ">>>") angle -= 3;
        else if (angle <= 0) {
          if ([",", ")", "]", "}", ";", "=", "&&", "||", "??", "?"].includes(t)) return k;
          if (t === "=>") {
            // `=>` after a parenthesised group of this type is a function type.
            const before = tokens[k - 1];
            const opened = before?.text === ")" ? partner[k - 1]! : -1;
            if (!(opened >= from && text(opened - 1) !== ":")) return k;
            if (returnType && opened === from) return k;
          }
        }
        if (angle < 0) return k;
      } else if (
        angle <= 0 && k > from && tokens[k - 1]!.kind !== "punct" &&
        !["is", "keyof", "typeof", "readonly", "extends", "infer", "asserts", "unique"].includes(
          tokens[k - 1]!.text,
        ) && !["is", "extends"].includes(t)
      ) {
        // Two names in a row: the type ended before this one (e.g. `: T as`).
        return k;
      }
      k++;
    }
    return k;
  };

  const classBodies = new Set<number>();
  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k]!;
    const t = token.text;
    const previous = text(k - 1);
    const statementStart = previous === undefined || previous === ";" || previous === "}" ||
      previous === "{" || previous === "export" || previous === "declare";
    if (token.kind === "ident") {
      if (t === "import" && statementStart && text(k + 1) !== "(") {
        let end = k;
        while (end < tokens.length && tokens[end]!.text !== ";") end++;
        mark(k, end + 1);
      } else if (t === "export" && (text(k + 1) === "{" || text(k + 1) === "*")) {
        let end = k;
        while (end < tokens.length && tokens[end]!.text !== ";") end++;
        if (tokens.slice(k, end).some((x) => x.text === "from")) mark(k, end + 1);
        else if (text(k + 1) === "{") mark(k, end + 1);
      } else if (t === "export" && text(k + 1) === "type") {
        mark(k, k + 1);
      } else if (t === "interface" && statementStart && tokens[k + 1]?.kind === "ident") {
        let brace = k;
        while (brace < tokens.length && tokens[brace]!.text !== "{") brace++;
        mark(k, partner[brace]! + 1);
      } else if (
        t === "type" && statementStart && tokens[k + 1]?.kind === "ident" &&
        (text(k + 2) === "=" || text(k + 2) === "<")
      ) {
        let end = k + 2;
        while (end < tokens.length && tokens[end]!.text !== ";") {
          end = partner[end]! > end ? partner[end]! + 1 : end + 1;
        }
        mark(k, end + 1);
      } else if ((t === "as" || t === "satisfies") && k > 0 && !statementStart) {
        const end = skipType(k + 1, false);
        mark(k, end);
      } else if ((t === "const" || t === "let" || t === "var") && text(k + 2) === ":") {
        mark(k + 2, skipType(k + 3, false));
      } else if (t === "class") {
        let brace = k;
        while (brace < tokens.length && tokens[brace]!.text !== "{") brace++;
        classBodies.add(brace);
      }
    }
    if (token.kind === "punct") {
      if (t === ")" && text(k + 1) === ":" && !tokens[k + 1]!.spaced) {
        // A return type annotation.
        mark(k + 1, skipType(k + 2, true));
      } else if (t === "(" && partner[k]! > k) {
        const close = partner[k]!;
        const after = tokens[close + 1];
        const isParams = after !== undefined &&
          (after.text === "=>" || (after.text === ":" && !after.spaced) ||
            (after.text === "{" && !["if", "for", "while", "switch", "with"].includes(
              previous ?? "",
            )));
        if (isParams) markParameterTypes(k + 1, close);
      } else if (t === "{" && classBodies.has(k)) {
        markClassFieldTypes(k);
      } else if (t === "<" && !token.spaced && k > 0 && tokens[k - 1]!.kind === "ident") {
        const end = matchAngle(k);
        if (end > 0) mark(k, end + 1);
      }
    }
  }

  function markParameterTypes(from: number, to: number): void {
    let k = from;
    while (k < to) {
      const t = tokens[k]!.text;
      if (t === ":" && !tokens[k]!.spaced) {
        const end = Math.min(skipType(k + 1, false), to);
        mark(k, end);
        k = end;
      } else if (OPEN[t] !== undefined && partner[k]! > k) {
        k = partner[k]! + 1;
      } else {
        k++;
      }
    }
  }

  function markClassFieldTypes(open: number): void {
    const close = partner[open]!;
    let k = open + 1;
    while (k < close) {
      const token = tokens[k]!;
      if (
        token.text === ":" && !token.spaced &&
        (tokens[k - 1]!.kind === "ident" || tokens[k - 1]!.kind === "private" ||
          tokens[k - 1]!.text === "?")
      ) {
        const end = skipType(k + 1, false);
        mark(k, end);
        k = end;
      } else if (OPEN[token.text] !== undefined && partner[k]! > k) {
        k = partner[k]! + 1;
      } else {
        k++;
      }
    }
  }

  /** The index of the `>` closing a generic list at `open`, or -1. */
  function matchAngle(open: number): number {
    let depth = 0;
    for (let k = open; k < tokens.length; k++) {
      const token = tokens[k]!;
      const t = token.text;
      if (token.kind !== "punct") continue;
      if (t === "<") depth++;
      else if (t === ">") depth--;
      else if (t === ">>") depth -= 2;
      else if (t === ">>>") depth -= 3;
      else if ([";", "&&", "||", "==="].includes(t) || (t === "<" && token.spaced)) return -1;
      else if (OPEN[t] !== undefined) {
        if (partner[k]! < 0) return -1;
        k = partner[k]!;
        continue;
      } else if (t === ")" || t === "]" || t === "}") return -1;
      if (depth <= 0) return k;
    }
    return -1;
  }

  return { tokens, partner, inType };
}

/** A selection of ranges within a file; all of the file when both lists are empty. */
export interface Selection {
  /** 1-based inclusive line ranges. */
  readonly lines?: readonly (readonly [number, number])[];
  /** Names of functions or methods (e.g. `#verify`, `acceptedSuite`). */
  readonly functions?: readonly string[];
}

/**
 * Finds the offset ranges of named functions or methods.
 *
 * @param source The source text.
 * @param names Function, method or private method names.
 * @returns One [start, end) offset range per definition found.
 * @throws {Error} If a name has no definition.
 */
export function functionRanges(source: string, names: readonly string[]): [number, number][] {
  const { tokens, partner } = analyse(source);
  const ranges: [number, number][] = [];
  for (const name of names) {
    let found = false;
    for (let k = 0; k < tokens.length; k++) {
      const token = tokens[k]!;
      if (token.text !== name || tokens[k - 1]?.text === "." || tokens[k - 1]?.text === "?.") {
        continue;
      }
      let open = k + 1;
      if (tokens[open]?.text === "=" || tokens[open]?.text === ":") open++;
      if (tokens[open]?.text === "async") open++;
      if (tokens[open]?.text === "function") open++;
      if (tokens[open]?.text === "<") {
        while (open < tokens.length && tokens[open]!.text !== "(") open++;
      }
      if (tokens[open]?.text !== "(" || partner[open]! < 0) continue;
      // The body is the first `{` after the parameters that is not part of a return type.
      let k2 = partner[open]! + 1;
      if (tokens[k2]?.text === ":") {
        k2++;
        while (k2 < tokens.length) {
          const t = tokens[k2]!.text;
          if (t === "{" && TYPE_OBJECT_PRECEDERS.has(tokens[k2 - 1]!.text)) {
            k2 = partner[k2]! + 1;
          } else if (t === "(" || t === "[") {
            k2 = partner[k2]! + 1;
          } else if (t === "{" || t === "=>") {
            break;
          } else {
            k2++;
          }
        }
      }
      if (tokens[k2]?.text === "=>") k2++;
      if (tokens[k2]?.text !== "{" || partner[k2]! < 0) continue;
      ranges.push([token.start, tokens[partner[k2]!]!.end]);
      found = true;
    }
    if (!found) throw new Error(`Cannot select function: no definition of "${name}"`);
  }
  return ranges;
}

function lineRanges(source: string, lines: readonly (readonly [number, number])[]): [
  number,
  number,
][] {
  const starts = [0];
  for (let i = 0; i < source.length; i++) if (source[i] === "\n") starts.push(i + 1);
  return lines.map(([from, to]) => [
    starts[from - 1] ?? source.length,
    starts[to] ?? source.length,
  ]);
}

function shorten(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 60 ? `${flat.slice(0, 57)}...` : flat;
}

const EXPRESSION_END_KINDS = new Set(["ident", "private", "number", "string", "template", "regex"]);

function endsExpression(token: Token | undefined): boolean {
  if (token === undefined) return false;
  if (token.kind === "ident") return !KEYWORDS_BEFORE_EXPRESSION.has(token.text);
  if (EXPRESSION_END_KINDS.has(token.kind)) return true;
  return token.text === ")" || token.text === "]" || token.text === "}";
}

/**
 * Generates every mutant of one file, in source order.
 *
 * @param file The repository-relative path (recorded in each mutant).
 * @param source The file's text.
 * @param operators The operators to apply.
 * @param selection Restricts mutants to line ranges or named functions.
 * @returns The mutants, ordered by offset then operator.
 */
export function generateMutants(
  file: string,
  source: string,
  operators: readonly OperatorName[] = OPERATORS,
  selection: Selection = {},
): Mutant[] {
  const { tokens, partner, inType } = analyse(source);
  const enabled = new Set(operators);
  const ranges = [
    ...lineRanges(source, selection.lines ?? []),
    ...functionRanges(source, selection.functions ?? []),
  ];
  const selected = (start: number, end: number): boolean =>
    ranges.length === 0 || ranges.some(([from, to]) => start >= from && end <= to);
  const mutants: Mutant[] = [];
  const add = (
    operator: OperatorName,
    first: Token,
    start: number,
    end: number,
    replacement: string,
  ): void => {
    if (!enabled.has(operator) || !selected(start, end)) return;
    const original = source.slice(start, end);
    if (original === replacement) return;
    mutants.push({
      id: `${file}:${first.line}:${first.col}:${operator}:${shorten(replacement)}`,
      file,
      line: first.line,
      col: first.col,
      operator,
      start,
      end,
      replacement,
      description: `${shorten(original)} -> ${shorten(replacement) || "(removed)"}`,
    });
  };
  const text = (k: number): string | undefined => tokens[k]?.text;

  for (let k = 0; k < tokens.length; k++) {
    if (inType[k]) continue;
    const token = tokens[k]!;
    const t = token.text;
    if (token.kind === "punct") {
      const swapped = ({ "===": "!==", "!==": "===", "==": "!=", "!=": "==" } as Record<
        string,
        string
      >)[t];
      if (swapped !== undefined) add("equality", token, token.start, token.end, swapped);
      const boundary = ({ "<": "<=", "<=": "<", ">": ">=", ">=": ">" } as Record<string, string>)[
        t
      ];
      if (boundary !== undefined && token.spaced && tokens[k + 1]?.spaced) {
        add("relational", token, token.start, token.end, boundary);
      }
      if (t === "&&" || t === "||") {
        add("logical", token, token.start, token.end, t === "&&" ? "||" : "&&");
      }
      if (t === "[" && partner[k]! > k && !endsExpression(tokens[k - 1])) {
        arrayMutants(k);
      }
    } else if (token.kind === "ident") {
      if ((t === "true" || t === "false") && text(k - 1) !== ".") {
        add("boolean", token, token.start, token.end, t === "true" ? "false" : "true");
      } else if (t === "if" && text(k + 1) === "(" && partner[k + 1]! > k + 1) {
        const open = tokens[k + 1]!;
        const close = tokens[partner[k + 1]!]!;
        const condition = source.slice(open.end, close.start);
        add("if", token, open.end, close.start, `!(${condition})`);
      } else if (t === "return" && text(k + 1) !== ";" && text(k + 1) !== "undefined") {
        const end = statementEnd(k + 1);
        if (end > k + 1 && text(end) === ";") {
          add("return", token, tokens[k + 1]!.start, tokens[end - 1]!.end, "undefined");
        }
      }
      if (isStatementStart(k)) callStatement(k);
    } else if (token.kind === "private" && isStatementStart(k)) {
      callStatement(k);
    } else if (token.kind === "number") {
      const value = Number(t.replaceAll("_", ""));
      if (Number.isSafeInteger(value) && text(k - 1) !== ".") {
        add("number", token, token.start, token.end, String(value + 1));
        if (value !== 0) add("number", token, token.start, token.end, "0");
      }
    }
  }
  mutants.sort((a, b) =>
    a.start - b.start || OPERATORS.indexOf(a.operator) - OPERATORS.indexOf(b.operator) ||
    a.end - b.end
  );
  return mutants;

  /** The index of the `;` (or closer) ending the expression that starts at `from`. */
  function statementEnd(from: number): number {
    let k = from;
    while (k < tokens.length) {
      const t = tokens[k]!.text;
      if (t === ";" || t === ")" || t === "]" || t === "}") return k;
      k = OPEN[t] !== undefined && partner[k]! > k ? partner[k]! + 1 : k + 1;
    }
    return k;
  }

  function isStatementStart(k: number): boolean {
    const previous = tokens[k - 1];
    if (previous === undefined) return true;
    if (previous.text === ";" || previous.text === "{" || previous.text === "}") {
      // `{` of an object literal is followed by `key:`, never by a call statement ending in `;`.
      return true;
    }
    if (previous.text === "else") return true;
    if (previous.text === ")" && partner[k - 1]! >= 0) {
      const keyword = text(partner[k - 1]! - 1);
      return keyword === "if" || keyword === "for" || keyword === "while";
    }
    return false;
  }

  /** `[await] name(.name | .#name | ?.name | [..] | (..))* (..) ;` -> removed. */
  function callStatement(first: number): void {
    let k = first;
    if (text(k) === "await") k++;
    const head = tokens[k];
    if (head === undefined || (head.kind !== "ident" && head.kind !== "private")) return;
    if (
      [
        "const",
        "let",
        "var",
        "return",
        "if",
        "for",
        "while",
        "throw",
        "function",
        "class",
        "import",
        "export",
        "switch",
        "case",
        "break",
        "continue",
        "try",
        "do",
        "else",
        "new",
        "yield",
        "super",
        "type",
        "interface",
        "delete",
        "typeof",
        "void",
      ].includes(head.text)
    ) {
      return;
    }
    k++;
    let lastWasCall = false;
    while (k < tokens.length) {
      const t = text(k);
      if ((t === "." || t === "?.") && ["ident", "private"].includes(tokens[k + 1]?.kind ?? "")) {
        k += 2;
        lastWasCall = false;
      } else if (t === "!" && !tokens[k]!.spaced) {
        k++;
      } else if ((t === "(" || t === "[") && partner[k]! > k) {
        lastWasCall = t === "(";
        k = partner[k]! + 1;
      } else if (t === "?." && text(k + 1) === "(") {
        k++;
      } else {
        break;
      }
    }
    if (!lastWasCall || text(k) !== ";") return;
    add("call", tokens[first]!, tokens[first]!.start, tokens[k - 1]!.end, "");
  }

  /** Elements of the array literal opening at `open`, as token index ranges. */
  function elements(open: number): [number, number][] {
    const close = partner[open]!;
    const result: [number, number][] = [];
    let from = open + 1;
    let k = from;
    while (k < close) {
      const t = tokens[k]!.text;
      if (t === ",") {
        result.push([from, k]);
        from = k + 1;
        k++;
      } else if (OPEN[t] !== undefined && partner[k]! > k) {
        k = partner[k]! + 1;
      } else {
        k++;
      }
    }
    if (from < close) result.push([from, close]);
    return result;
  }

  function isPlain(from: number, to: number): boolean {
    for (let k = from; k < to; k++) {
      const token = tokens[k]!;
      const alternating = (k - from) % 2 === 0;
      if (alternating && !["ident", "string", "number", "private"].includes(token.kind)) {
        return false;
      }
      if (!alternating && token.text !== ".") return false;
      if (token.kind === "ident" && ["await", "new", "typeof"].includes(token.text)) return false;
    }
    return (to - from) % 2 === 1;
  }

  function hasTopLevelGuard(from: number, to: number): boolean {
    if (text(from) !== "{" || partner[from] !== to - 1) return false;
    let k = from + 1;
    while (k < to - 1) {
      if (text(k) === "guard" && text(k + 1) === ":") return true;
      k = OPEN[text(k)!] !== undefined && partner[k]! > k ? partner[k]! + 1 : k + 1;
    }
    return false;
  }

  function arrayMutants(open: number): void {
    const close = partner[open]!;
    // Destructuring patterns and computed keys are not array literals.
    if (
      text(close + 1) === "=" || text(close + 1) === ":" ||
      ["const", "let", "var"].includes(text(open - 1) ?? "")
    ) {
      return;
    }
    const items = elements(open);
    if (items.length === 0) return;
    if (items.every(([from, to]) => isPlain(from, to))) {
      items.forEach(([from, to], index) => {
        // Remove the element and one adjacent comma.
        const start = index === 0 ? tokens[from]!.start : tokens[items[index - 1]![1]]!.start;
        const end = index === 0
          ? (items.length > 1 ? tokens[items[1]![0]]!.start : tokens[to - 1]!.end)
          : tokens[to - 1]!.end;
        const element = source.slice(tokens[from]!.start, tokens[to - 1]!.end);
        if (!enabled.has("array") || !selected(start, end)) return;
        mutants.push({
          id: `${file}:${tokens[from]!.line}:${tokens[from]!.col}:array:-${shorten(element)}`,
          file,
          line: tokens[from]!.line,
          col: tokens[from]!.col,
          operator: "array",
          start,
          end,
          replacement: "",
          description: `[... ${shorten(element)} ...] -> element removed`,
        });
      });
      return;
    }
    for (let index = 0; index + 1 < items.length; index++) {
      const [aFrom, aTo] = items[index]!;
      const [bFrom, bTo] = items[index + 1]!;
      if (!hasTopLevelGuard(aFrom, aTo) && !hasTopLevelGuard(bFrom, bTo)) continue;
      const a = source.slice(tokens[aFrom]!.start, tokens[aTo - 1]!.end);
      const b = source.slice(tokens[bFrom]!.start, tokens[bTo - 1]!.end);
      const between = source.slice(tokens[aTo - 1]!.end, tokens[bFrom]!.start);
      const start = tokens[aFrom]!.start;
      const end = tokens[bTo - 1]!.end;
      if (!enabled.has("guards") || !selected(start, end)) continue;
      mutants.push({
        id: `${file}:${tokens[aFrom]!.line}:${tokens[aFrom]!.col}:guards:${index}<->${index + 1}`,
        file,
        line: tokens[aFrom]!.line,
        col: tokens[aFrom]!.col,
        operator: "guards",
        start,
        end,
        replacement: `${b}${between}${a}`,
        description: `transitions ${index} and ${index + 1} swapped: ${shorten(a)} <-> ${
          shorten(b)
        }`,
      });
    }
  }
}

/**
 * Applies a mutant to the source it was generated from.
 *
 * @param source The original text.
 * @param mutant The mutant.
 * @returns The mutated text.
 */
export function applyMutant(source: string, mutant: Mutant): string {
  return source.slice(0, mutant.start) + mutant.replacement + source.slice(mutant.end);
}
