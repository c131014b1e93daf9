/*
 * cesql_parse.c -- cesql_compile(): CESQL text to the tree of
 * cesql_tree.h.
 *
 * A hand-written lexer and recursive-descent parser.  The lexer is called
 * by the parser one token at a time; the grammar needs no lookahead beyond
 * the current token except for signed integer literals (below).  The
 * levels, lowest precedence first (cesql-spec.md section 3.6):
 *
 *     expression  := comparison  ((AND | OR | XOR) comparison)*
 *     comparison  := additive    ((= | != | <> | < | <= | > | >=) additive)*
 *     additive    := multiplying ((+ | -) multiplying)*
 *     multiplying := postfix     ((* | / | %) postfix)*
 *     postfix     := unary ([NOT] LIKE string | [NOT] IN '(' expression, ... ')')*
 *     unary       := NOT unary | - unary | primary
 *     primary     := integer | string | TRUE | FALSE | attribute
 *                  | function '(' [expression, ...] ')' | EXISTS attribute
 *                  | '(' expression ')'
 *
 * All binary levels are left-associative and share parse_binary(), driven
 * by the table binary_levels.  The spec's grammar makes the sign part of an
 * integer literal ("-2147483648" is a literal, and in range), so a '+' or
 * '-' where an operand is expected and glued to digits is read as the sign
 * of that literal; a '-' anywhere else in operand place is unary minus.
 *
 * Words: keywords (AND ... FALSE, EXISTS, LIKE, IN) and function names are
 * case-insensitive; an attribute name is lower-cased, as the TCK's
 * "EXISTS SOURCE" requires.  A word of letters and digits is an attribute
 * name; a word of letters and '_' followed by '(' is a function call; a run
 * of digits alone is an integer.
 *
 * String literals: '...' or "..."; a backslash and the character after it
 * are read as a pair, and the pair is that character when it is the
 * closing quote, else both characters (so 'a\c' is three characters and
 * LIKE sees the "\%" and "\_" it gives meaning to).
 *
 * Errors: the first one stops the parse; it names the place (the byte
 * offset and the 1-based column, counted in UTF-8 characters) and what was
 * expected there.  Nesting is bounded by CESQL_MAX_DEPTH, both the
 * parser's recursion and the height of the tree, so that neither the
 * parser nor the evaluator can run out of stack.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "filter/cesql_tree.h"

enum token_kind {
    TOK_END,
    TOK_INTEGER, /* digits only; the sign is the parser's business */
    TOK_STRING,
    TOK_WORD,    /* attribute or function name */
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_COMMA,
    TOK_EQUAL,
    TOK_NOT_EQUAL, /* != and <> */
    TOK_LESS,
    TOK_LESS_EQUAL,
    TOK_GREATER,
    TOK_GREATER_EQUAL,
    TOK_PLUS,
    TOK_MINUS,
    TOK_STAR,
    TOK_SLASH,
    TOK_PERCENT,
    TOK_AND,
    TOK_OR,
    TOK_XOR,
    TOK_NOT,
    TOK_LIKE,
    TOK_IN,
    TOK_EXISTS,
    TOK_TRUE,
    TOK_FALSE,
};

struct token {
    enum token_kind kind;
    size_t start, len;  /* where in the text */
    const char *value;  /* TOK_STRING: the unescaped value (in the arena) */
    size_t value_len;
};

struct parser {
    const char *text;
    size_t len;
    size_t next;               /* the byte after the current token */
    struct token tok;          /* the current token */
    struct cesql_expr *expr;   /* owns the arena nodes go into */
    struct cesql_error *err;   /* may be NULL */
    bool failed;
    unsigned depth;            /* of parse_expression() and parse_unary() recursion */
    size_t column_offset;      /* column_of() resumes counting from here */
    size_t column;
};

static const struct keyword {
    const char *word;
    enum token_kind kind;
} keywords[] = {
    {"AND", TOK_AND},   {"OR", TOK_OR},     {"XOR", TOK_XOR},       {"NOT", TOK_NOT},
    {"LIKE", TOK_LIKE}, {"IN", TOK_IN},     {"EXISTS", TOK_EXISTS}, {"TRUE", TOK_TRUE},
    {"FALSE", TOK_FALSE},
};

/* ---- positions and errors ------------------------------------------------------ */

/* The 1-based column of byte offset: characters before it, plus one.
 * Successive calls ask for places close to each other (a token, the
 * operator before it), so counting goes on from the last place asked for,
 * forwards or back.  Offsets are token starts, so character boundaries. */
static size_t column_of(struct parser *p, size_t offset)
{
    if (offset >= p->column_offset)
        p->column += cesql_utf8_count(p->text + p->column_offset, offset - p->column_offset);
    else
        p->column -= cesql_utf8_count(p->text + offset, p->column_offset - offset);
    p->column_offset = offset;
    return p->column;
}

/* Records the parse error (the first only) and returns NULL for the caller to pass up. */
static void *fail(struct parser *p, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void *fail(struct parser *p, size_t offset, const char *fmt, ...)
{
    va_list ap;

    if (p->failed)
        return NULL;
    p->failed = true;
    if (p->err != NULL) {
        p->err->kind = CESQL_ERR_PARSE;
        p->err->offset = offset;
        p->err->position = column_of(p, offset);
        va_start(ap, fmt);
        vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
        va_end(ap);
    }
    return NULL;
}

/* What the current token is, for "found ...": at most 40 bytes of it. */
static const char *describe(const struct parser *p, char buf[64])
{
    const struct token *t = &p->tok;

    if (t->kind == TOK_END)
        return "the end of the expression";
    if (t->kind == TOK_STRING)
        return "a string literal";
    if (t->len > 40)
        snprintf(buf, 64, "'%.40s...'", p->text + t->start);
    else
        snprintf(buf, 64, "'%.*s'", (int)t->len, p->text + t->start);
    return buf;
}

/* Fails at the current token: "expected <what>, found <the token>". */
static void *fail_expected(struct parser *p, const char *what)
{
    char buf[64];

    return fail(p, p->tok.start, "expected %s, found %s", what, describe(p, buf));
}

/* ---- lexer ------------------------------------------------------------------------ */

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_word_char(char c) { return is_letter(c) || is_digit(c) || c == '_'; }

/* The length of the word (letters, digits, '_') at offset. */
static size_t word_length(const struct parser *p, size_t offset)
{
    size_t end = offset;

    while (end < p->len && is_word_char(p->text[end]))
        end++;
    return end - offset;
}

static bool all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_digit(s[i]))
            return false;
    return len > 0;
}

static void lex_word(struct parser *p, struct token *t)
{
    t->len = word_length(p, t->start);
    t->kind = all_digits(p->text + t->start, t->len) ? TOK_INTEGER : TOK_WORD;
    for (size_t i = 0; t->kind == TOK_WORD && i < sizeof(keywords) / sizeof(keywords[0]); i++)
        if (strlen(keywords[i].word) == t->len &&
            strncasecmp(keywords[i].word, p->text + t->start, t->len) == 0)
            t->kind = keywords[i].kind;
}

/* A quoted string: first its end and unescaped length, then the value. */
static bool lex_string(struct parser *p, struct token *t)
{
    char quote = p->text[t->start], *value;
    size_t at = t->start + 1, value_len = 0;

    while (at < p->len && p->text[at] != quote) {
        if (p->text[at] == '\\' && at + 1 < p->len) {
            value_len += p->text[at + 1] == quote ? 1 : 2;
            at += 2;
        } else {
            value_len++;
            at++;
        }
    }
    if (at >= p->len) {
        fail(p, t->start, "unterminated string literal: expected a closing %c", quote);
        return false;
    }
    t->len = at + 1 - t->start;
    t->kind = TOK_STRING;
    value = vane_arena_alloc(&p->expr->arena, value_len + 1);
    t->value = value;
    t->value_len = value_len;
    for (at = t->start + 1; at < t->start + t->len - 1; at++) {
        if (p->text[at] == '\\' && p->text[at + 1] == quote)
            at++;
        else if (p->text[at] == '\\')
            *value++ = p->text[at++];
        *value++ = p->text[at];
    }
    *value = '\0';
    return true;
}

/* The operator or punctuation at t->start, or false after reporting it. */
static bool lex_symbol(struct parser *p, struct token *t)
{
    static const struct symbol {
        const char *text;
        enum token_kind kind;
    } symbols[] = { /* two-character symbols first */
        {"!=", TOK_NOT_EQUAL}, {"<>", TOK_NOT_EQUAL}, {"<=", TOK_LESS_EQUAL},
        {">=", TOK_GREATER_EQUAL}, {"=", TOK_EQUAL}, {"<", TOK_LESS}, {">", TOK_GREATER},
        {"+", TOK_PLUS}, {"-", TOK_MINUS}, {"*", TOK_STAR}, {"/", TOK_SLASH},
        {"%", TOK_PERCENT}, {"(", TOK_LPAREN}, {")", TOK_RPAREN}, {",", TOK_COMMA},
    };
    const char *s = p->text + t->start;
    size_t left = p->len - t->start;
    uint32_t cp;

    for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
        size_t n = strlen(symbols[i].text);

        if (n <= left && memcmp(s, symbols[i].text, n) == 0) {
            t->kind = symbols[i].kind;
            t->len = n;
            return true;
        }
    }
    cesql_utf8_next(s, left, &cp);
    if (s[0] == '!')
        fail(p, t->start, "unexpected character '!': expected '!='");
    else if (cp >= 0x21 && cp < 0x7f)
        fail(p, t->start, "unexpected character '%c'", s[0]);
    else if (cp == CESQL_NOT_A_CHAR)
        fail(p, t->start, "unexpected byte 0x%02x (not UTF-8)", (unsigned char)s[0]);
    else
        fail(p, t->start, "unexpected character U+%04X", (unsigned)cp);
    return false;
}

/* Moves to the next token; false (with the error recorded) when the text
 * there is not one. */
static bool advance(struct parser *p)
{
    struct token *t = &p->tok;
    size_t at = p->next;

    while (at < p->len && is_space(p->text[at]))
        at++;
    memset(t, 0, sizeof(*t));
    t->start = at;
    if (at == p->len)
        t->kind = TOK_END;
    else if (is_word_char(p->text[at]))
        lex_word(p, t);
    else if (p->text[at] == '\'' || p->text[at] == '"') {
        if (!lex_string(p, t))
            return false;
    } else if (!lex_symbol(p, t))
        return false;
    p->next = t->start + t->len;
    return true;
}

/* Consumes a token of kind, or fails saying what was expected. */
static bool expect(struct parser *p, enum token_kind kind, const char *what)
{
    if (p->tok.kind != kind) {
        fail_expected(p, what);
        return false;
    }
    return advance(p);
}

/* ---- nodes ---------------------------------------------------------------------- */

static struct cesql_node *new_node(struct parser *p, enum cesql_op op, size_t offset)
{
    struct cesql_node *node = vane_arena_alloc(&p->expr->arena, sizeof(*node));

    memset(node, 0, sizeof(*node));
    node->op = op;
    node->offset = offset;
    node->column = column_of(p, offset);
    node->height = 1;
    return node;
}

/* Makes node one level above child; fails when the tree grows too high. */
static bool add_height(struct parser *p, struct cesql_node *node, const struct cesql_node *child)
{
    if (child->height + 1 > node->height)
        node->height = child->height + 1;
    if (node->height <= CESQL_MAX_DEPTH)
        return true;
    fail(p, node->offset, "the expression nests deeper than %d levels", CESQL_MAX_DEPTH);
    return false;
}

static struct cesql_node *new_binary(struct parser *p, enum cesql_op op, size_t offset,
                                     struct cesql_node *left, struct cesql_node *right)
{
    struct cesql_node *node = new_node(p, op, offset);

    node->u.binary.left = left;
    node->u.binary.right = right;
    if (!add_height(p, node, left) || !add_height(p, node, right))
        return NULL;
    return node;
}

/* A copy of the current word in the arena, lower- or upper-cased. */
static const char *word_copy(struct parser *p, bool upper)
{
    char *copy = vane_arena_alloc(&p->expr->arena, p->tok.len + 1);

    cesql_case_map(p->text + p->tok.start, p->tok.len, copy, upper);
    copy[p->tok.len] = '\0';
    return copy;
}

/* ---- the grammar ---------------------------------------------------------------- */

static struct cesql_node *parse_expression(struct parser *p);

/* An attribute name (the current token) for an attribute or EXISTS node. */
static struct cesql_node *parse_attribute(struct parser *p, enum cesql_op op, size_t offset)
{
    struct cesql_node *node;

    if (p->tok.kind != TOK_WORD)
        return fail_expected(p, "an attribute name");
    if (memchr(p->text + p->tok.start, '_', p->tok.len) != NULL)
        return fail(p, p->tok.start,
                    "'%.*s' is not an attribute name: expected letters and digits only "
                    "(or a function call: '(' after the name)",
                    (int)p->tok.len, p->text + p->tok.start);
    node = new_node(p, op, offset);
    node->u.attribute.len = p->tok.len;
    node->u.attribute.name = word_copy(p, false);
    return advance(p) ? node : NULL;
}

/* Whether a token of kind can begin an expression. */
static bool starts_expression(enum token_kind kind)
{
    switch (kind) {
    case TOK_INTEGER: case TOK_STRING: case TOK_WORD: case TOK_LPAREN: case TOK_PLUS:
    case TOK_MINUS: case TOK_NOT: case TOK_EXISTS: case TOK_TRUE: case TOK_FALSE:
        return true;
    default:
        return false;
    }
}

/* A comma-separated list of expressions up to the ')', which it consumes,
 * as the children of owner; where names the list for errors ("in the set
 * of IN").  *items is in the arena. */
static bool parse_list(struct parser *p, struct cesql_node *owner, bool may_be_empty,
                       const char *where, struct cesql_node ***items, size_t *count)
{
    struct cesql_node **list = NULL;
    size_t cap = 0;
    char expected[96];

    *items = NULL;
    *count = 0;
    if (p->tok.kind == TOK_RPAREN && may_be_empty)
        return advance(p);
    for (;;) {
        struct cesql_node *item;

        if (!starts_expression(p->tok.kind)) {
            snprintf(expected, sizeof(expected), "an expression%s %s",
                     *count == 0 && may_be_empty ? " or ')'" : "", where);
            fail_expected(p, expected);
            return false;
        }
        if (*count == cap) { /* grows in the arena: lists are short */
            struct cesql_node **bigger;

            cap = cap ? cap * 2 : 4;
            bigger = vane_arena_alloc(&p->expr->arena, cap * sizeof(*bigger));
            if (*count > 0)
                memcpy(bigger, list, *count * sizeof(*bigger));
            list = bigger;
        }
        if ((item = parse_expression(p)) == NULL || !add_height(p, owner, item))
            return false;
        list[(*count)++] = item;
        *items = list;
        if (p->tok.kind != TOK_COMMA)
            break;
        if (!advance(p))
            return false;
    }
    if (p->tok.kind != TOK_RPAREN) {
        snprintf(expected, sizeof(expected), "',' or ')' %s", where);
        fail_expected(p, expected);
        return false;
    }
    return advance(p);
}

/* The spec's function-identifier: a letter, then letters and '_'. */
static bool is_function_name(const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_letter(name[i]) && (i == 0 || name[i] != '_'))
            return false;
    return true;
}

/* NAME ( args ): the current token is the '(' after the name at name_start. */
static struct cesql_node *parse_call(struct parser *p, size_t name_start, size_t name_len)
{
    const char *name = p->text + name_start;
    struct cesql_node *node = new_node(p, CESQL_OP_CALL, name_start);
    char what[96];
    char *upper;

    if (!is_function_name(name, name_len))
        return fail(p, name_start, "'%.*s' is not a function name: expected letters and '_'",
                    (int)name_len, name);
    upper = vane_arena_alloc(&p->expr->arena, name_len + 1);
    cesql_case_map(name, name_len, upper, true);
    upper[name_len] = '\0';
    node->u.call.name = upper;
    if (!advance(p))
        return NULL;
    snprintf(what, sizeof(what), "in the arguments of %s", upper);
    if (!parse_list(p, node, true, what, &node->u.call.args, &node->u.call.count))
        return NULL;
    node->u.call.function = cesql_function_find(upper, name_len, node->u.call.count);
    return node;
}

/* An integer literal: the current token's digits, with the sign at sign
 * (or none when sign is the digits' own offset). */
static struct cesql_node *parse_integer(struct parser *p, size_t sign)
{
    size_t end = p->tok.start + p->tok.len;
    struct cesql_node *node = new_node(p, CESQL_OP_LITERAL, sign);
    int32_t value;

    if (!cesql_parse_integer(p->text + sign, end - sign, &value))
        return fail(p, sign,
                    "the integer %.*s is out of range: expected -2147483648 to 2147483647",
                    (int)(end - sign > 40 ? 40 : end - sign), p->text + sign);
    cesql_set_integer(&node->u.literal, value);
    return advance(p) ? node : NULL;
}

static struct cesql_node *parse_primary(struct parser *p)
{
    size_t start = p->tok.start;
    struct cesql_node *node;

    switch (p->tok.kind) {
    case TOK_INTEGER:
        return parse_integer(p, start);
    case TOK_STRING:
        node = new_node(p, CESQL_OP_LITERAL, start);
        cesql_set_string(&node->u.literal, p->tok.value, p->tok.value_len);
        return advance(p) ? node : NULL;
    case TOK_TRUE:
    case TOK_FALSE:
        node = new_node(p, CESQL_OP_LITERAL, start);
        cesql_set_boolean(&node->u.literal, p->tok.kind == TOK_TRUE);
        return advance(p) ? node : NULL;
    case TOK_WORD: {
        struct token word = p->tok;

        if (!advance(p))
            return NULL;
        if (p->tok.kind == TOK_LPAREN)
            return parse_call(p, word.start, word.len);
        p->tok = word; /* back to the name: parse_attribute() reads it */
        p->next = word.start + word.len;
        return parse_attribute(p, CESQL_OP_ATTRIBUTE, start);
    }
    case TOK_EXISTS:
        if (!advance(p))
            return NULL;
        return parse_attribute(p, CESQL_OP_EXISTS, start);
    case TOK_LPAREN:
        if (!advance(p) || (node = parse_expression(p)) == NULL)
            return NULL;
        return expect(p, TOK_RPAREN, "')'") ? node : NULL;
    default:
        return fail_expected(p, "an expression");
    }
}

/* Whether the current '+' or '-' is the sign of an integer literal: glued
 * to a run of digits that is not the start of a longer word. */
static bool is_sign(const struct parser *p)
{
    size_t digits = p->tok.start + 1;

    return (p->tok.kind == TOK_PLUS || p->tok.kind == TOK_MINUS) && digits < p->len &&
           all_digits(p->text + digits, word_length(p, digits));
}

static struct cesql_node *parse_unary(struct parser *p)
{
    size_t start = p->tok.start;
    struct cesql_node *node, *operand;

    if (is_sign(p)) {
        if (!advance(p))
            return NULL;
        return parse_integer(p, start);
    }
    if (p->tok.kind != TOK_NOT && p->tok.kind != TOK_MINUS)
        return parse_primary(p);
    if (++p->depth > CESQL_MAX_DEPTH)
        return fail(p, start, "the expression nests deeper than %d levels", CESQL_MAX_DEPTH);
    node = new_node(p, p->tok.kind == TOK_NOT ? CESQL_OP_NOT : CESQL_OP_NEGATE, start);
    if (!advance(p) || (operand = parse_unary(p)) == NULL)
        return NULL;
    p->depth--;
    node->u.operand = operand;
    return add_height(p, node, operand) ? node : NULL;
}

/* [NOT] LIKE 'pattern', the current token being LIKE. */
static struct cesql_node *parse_like(struct parser *p, struct cesql_node *node)
{
    struct cesql_like_piece *pieces;
    char *text;

    if (!advance(p))
        return NULL;
    if (p->tok.kind != TOK_STRING)
        return fail_expected(p, "a string literal as the LIKE pattern");
    pieces = vane_arena_alloc(&p->expr->arena, (p->tok.value_len + 1) * sizeof(*pieces));
    text = vane_arena_alloc(&p->expr->arena, p->tok.value_len + 1);
    node->u.like.pieces = pieces;
    node->u.like.count = cesql_like_compile(p->tok.value, p->tok.value_len, pieces, text);
    return advance(p) ? node : NULL;
}

/* [NOT] IN (expression, ...), the current token being IN. */
static struct cesql_node *parse_in(struct parser *p, struct cesql_node *node)
{
    if (!advance(p) || !expect(p, TOK_LPAREN, "'(' to open the set after IN"))
        return NULL;
    if (!parse_list(p, node, false, "in the set of IN", &node->u.in.items, &node->u.in.count))
        return NULL;
    return node;
}

static struct cesql_node *parse_postfix(struct parser *p)
{
    struct cesql_node *subject = parse_unary(p);

    while (subject != NULL) {
        size_t start = p->tok.start;
        bool negated = p->tok.kind == TOK_NOT;
        struct cesql_node *node;

        if (negated && (!advance(p) || (p->tok.kind != TOK_LIKE && p->tok.kind != TOK_IN)))
            return fail_expected(p, "LIKE or IN after NOT");
        if (p->tok.kind != TOK_LIKE && p->tok.kind != TOK_IN)
            break;
        node = new_node(p, p->tok.kind == TOK_LIKE ? CESQL_OP_LIKE : CESQL_OP_IN, start);
        node->negated = negated;
        if (node->op == CESQL_OP_LIKE)
            node->u.like.subject = subject;
        else
            node->u.in.subject = subject;
        if (!add_height(p, node, subject))
            return NULL;
        subject = node->op == CESQL_OP_LIKE ? parse_like(p, node) : parse_in(p, node);
    }
    return subject;
}

/* The binary operators by level, lowest precedence first. */
#define BINARY_LEVELS 4

static const struct binary_operator {
    enum token_kind token;
    enum cesql_op op;
} binary_levels[BINARY_LEVELS][7] = {
    {{TOK_AND, CESQL_OP_AND}, {TOK_OR, CESQL_OP_OR}, {TOK_XOR, CESQL_OP_XOR}},
    {{TOK_EQUAL, CESQL_OP_EQUAL}, {TOK_NOT_EQUAL, CESQL_OP_NOT_EQUAL},
     {TOK_LESS, CESQL_OP_LESS}, {TOK_LESS_EQUAL, CESQL_OP_LESS_EQUAL},
     {TOK_GREATER, CESQL_OP_GREATER}, {TOK_GREATER_EQUAL, CESQL_OP_GREATER_EQUAL}},
    {{TOK_PLUS, CESQL_OP_ADD}, {TOK_MINUS, CESQL_OP_SUBTRACT}},
    {{TOK_STAR, CESQL_OP_MULTIPLY}, {TOK_SLASH, CESQL_OP_DIVIDE},
     {TOK_PERCENT, CESQL_OP_MODULO}},
};

/* The operator the current token is at level, or NULL.  (TOK_END, 0, ends
 * each row: no operator is spelled by the end of the text.) */
static const struct binary_operator *binary_operator(const struct parser *p, size_t level)
{
    for (size_t i = 0; i < 7 && binary_levels[level][i].token != TOK_END; i++)
        if (binary_levels[level][i].token == p->tok.kind)
            return &binary_levels[level][i];
    return NULL;
}

static struct cesql_node *parse_binary(struct parser *p, size_t level)
{
    struct cesql_node *left;
    const struct binary_operator *op;

    if (level == BINARY_LEVELS)
        return parse_postfix(p);
    left = parse_binary(p, level + 1);
    while (left != NULL && (op = binary_operator(p, level)) != NULL) {
        size_t start = p->tok.start;
        struct cesql_node *right;

        if (!advance(p) || (right = parse_binary(p, level + 1)) == NULL)
            return NULL;
        left = new_binary(p, op->op, start, left, right);
    }
    return left;
}

static struct cesql_node *parse_expression(struct parser *p)
{
    struct cesql_node *node;

    if (++p->depth > CESQL_MAX_DEPTH)
        return fail(p, p->tok.start, "the expression nests deeper than %d levels",
                    CESQL_MAX_DEPTH);
    node = parse_binary(p, 0);
    p->depth--;
    return node;
}

int cesql_compile(const char *text, size_t len, struct cesql_expr **out,
                  struct cesql_error *err)
{
    struct parser p = {.text = text, .len = len, .err = err, .column = 1};

    *out = NULL;
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    p.expr = VANE_NEW(p.expr);
    if (advance(&p)) {
        if (p.tok.kind == TOK_END)
            fail_expected(&p, "an expression");
        else if ((p.expr->root = parse_expression(&p)) != NULL && p.tok.kind != TOK_END)
            fail_expected(&p, "an operator or the end of the expression");
    }
    if (p.failed) {
        cesql_free(p.expr);
        return -EINVAL;
    }
    *out = p.expr;
    return 0;
}

void cesql_free(struct cesql_expr *expr)
{
    if (expr == NULL)
        return;
    vane_arena_free(&expr->arena);
    vane_free(expr);
}
