//! `{{#claim EXPR}}`: a small expression language for statements the build checks.
//!
//! A claim such as `speedup(mandelbrot/rayon, mandelbrot/scalar) > 1.5` is parsed once, its
//! measurement references are resolved against the store, and the build fails if it is false,
//! naming the claim and every measured value it used.
//!
//! Grammar (precedence from loosest to tightest):
//! ```text
//! expr    := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | compare
//! compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
//! sum     := product (("+" | "-") product)*
//! product := unary (("*" | "/") unary)*
//! unary   := "-" unary | primary
//! primary := NUMBER | FUNC "(" ID ("," ID)* ")" | "(" expr ")"
//! ID      := kernel/variant, optionally @N for a thread count (e.g. julia/dynamic@1)
//! ```

use std::fmt;

/// The functions a claim may call, with their arity, for parse errors and documentation.
pub const FUNCTIONS: &[(&str, usize, &str)] = &[
    (
        "speedup",
        2,
        "median time of the second / median time of the first",
    ),
    ("median", 1, "median time per run, in seconds"),
    ("min", 1, "fastest run, in seconds"),
    ("throughput", 1, "work units per second (median)"),
    ("gflops", 1, "useful GFLOP/s (median)"),
    ("peak", 1, "fraction of the machine's measured peak (0..1)"),
    (
        "first_call",
        1,
        "wall time of the first, checked call (cold caches, JIT compilation), in seconds",
    ),
    (
        "cpu_per_wall",
        1,
        "CPU-seconds per wall-second over the samples (about the busy threads)",
    ),
];

/// A parsed claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(f64),
    Call {
        func: String,
        args: Vec<String>,
    },
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        op: Op,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Or,
    And,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Or => "or",
            Op::And => "and",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(n) => write!(f, "{n}"),
            Expr::Call { func, args } => write!(f, "{func}({})", args.join(", ")),
            Expr::Neg(e) => write!(f, "-{e}"),
            Expr::Not(e) => write!(f, "not {e}"),
            Expr::Binary { op, lhs, rhs } => write!(f, "({lhs} {} {rhs})", op.symbol()),
        }
    }
}

/// A malformed claim: what is wrong and at which column of the expression (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    LParen,
    RParen,
    Comma,
    Op(&'static str),
    End,
}

fn tokenize(s: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let col = |byte: usize| s[..byte].chars().count() + 1;
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (b, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = chars[i..].iter().take(2).map(|(_, c)| c).collect();
        if ["<=", ">=", "==", "!="].contains(&two.as_str()) {
            let op = ["<=", ">=", "==", "!="]
                .into_iter()
                .find(|o| *o == two)
                .unwrap_or("==");
            toks.push((Tok::Op(op), col(b)));
            i += 2;
            continue;
        }
        match c {
            '(' => toks.push((Tok::LParen, col(b))),
            ')' => toks.push((Tok::RParen, col(b))),
            ',' => toks.push((Tok::Comma, col(b))),
            '<' => toks.push((Tok::Op("<"), col(b))),
            '>' => toks.push((Tok::Op(">"), col(b))),
            '+' => toks.push((Tok::Op("+"), col(b))),
            '-' => toks.push((Tok::Op("-"), col(b))),
            '*' => toks.push((Tok::Op("*"), col(b))),
            '/' => toks.push((Tok::Op("/"), col(b))),
            c if c.is_ascii_digit() || c == '.' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].1.is_ascii_digit()
                        || chars[i].1 == '.'
                        || chars[i].1 == 'e'
                        || chars[i].1 == 'E'
                        || ((chars[i].1 == '-' || chars[i].1 == '+')
                            && matches!(chars[i - 1].1, 'e' | 'E')))
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().map(|(_, c)| c).collect();
                let n: f64 = text.parse().map_err(|_| ParseError {
                    column: col(b),
                    message: format!("'{text}' is not a number"),
                })?;
                toks.push((Tok::Num(n), col(b)));
                continue;
            }
            c if c.is_alphanumeric() || c == '_' => {
                // Identifiers include measurement ids: kernel/variant@threads with dashes.
                let start = i;
                while i < chars.len()
                    && (chars[i].1.is_alphanumeric() || "_-/@.".contains(chars[i].1))
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().map(|(_, c)| c).collect();
                toks.push((Tok::Ident(text), col(b)));
                continue;
            }
            other => {
                return Err(ParseError {
                    column: col(b),
                    message: format!("unexpected character '{other}'"),
                });
            }
        }
        i += 1;
    }
    toks.push((Tok::End, col(s.len())));
    Ok(toks)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }

    fn column(&self) -> usize {
        self.toks[self.pos].1
    }

    fn bump(&mut self) -> Tok {
        let t = self.toks[self.pos].0.clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            column: self.column(),
            message: message.into(),
        })
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w == word)
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.and()?;
        while self.keyword("or") {
            self.bump();
            let rhs = self.and()?;
            lhs = bin(Op::Or, lhs, rhs);
        }
        Ok(lhs)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.not()?;
        while self.keyword("and") {
            self.bump();
            let rhs = self.not()?;
            lhs = bin(Op::And, lhs, rhs);
        }
        Ok(lhs)
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.keyword("not") {
            self.bump();
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Expr, ParseError> {
        let lhs = self.sum()?;
        let op = match self.peek() {
            Tok::Op("<") => Op::Lt,
            Tok::Op("<=") => Op::Le,
            Tok::Op(">") => Op::Gt,
            Tok::Op(">=") => Op::Ge,
            Tok::Op("==") => Op::Eq,
            Tok::Op("!=") => Op::Ne,
            _ => return Ok(lhs),
        };
        self.bump();
        let rhs = self.sum()?;
        if matches!(self.peek(), Tok::Op("<" | "<=" | ">" | ">=" | "==" | "!=")) {
            return self.error("comparisons cannot be chained; join them with 'and'");
        }
        Ok(bin(op, lhs, rhs))
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.product()?;
        loop {
            let op = match self.peek() {
                Tok::Op("+") => Op::Add,
                Tok::Op("-") => Op::Sub,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.product()?;
            lhs = bin(op, lhs, rhs);
        }
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Op("*") => Op::Mul,
                Tok::Op("/") => Op::Div,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.unary()?;
            lhs = bin(op, lhs, rhs);
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if matches!(self.peek(), Tok::Op("-")) {
            self.bump();
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        match self.peek().clone() {
            Tok::Num(n) => {
                self.bump();
                Ok(Expr::Number(n))
            }
            Tok::LParen => {
                self.bump();
                let e = self.expr()?;
                if self.peek() != &Tok::RParen {
                    return self.error("expected ')'");
                }
                self.bump();
                Ok(e)
            }
            Tok::Ident(name) => {
                let Some((_, arity, _)) = FUNCTIONS.iter().find(|(f, _, _)| *f == name) else {
                    let known: Vec<&str> = FUNCTIONS.iter().map(|f| f.0).collect();
                    return self.error(format!(
                        "unknown function '{name}'; known: {}",
                        known.join(", ")
                    ));
                };
                self.bump();
                if self.peek() != &Tok::LParen {
                    return self.error(format!("expected '(' after {name}"));
                }
                self.bump();
                let mut args = Vec::new();
                loop {
                    match self.peek().clone() {
                        Tok::Ident(id) if id.contains('/') => {
                            args.push(id);
                            self.bump();
                        }
                        _ => return self.error("expected a measurement id like mandelbrot/scalar"),
                    }
                    match self.peek() {
                        Tok::Comma => {
                            self.bump();
                        }
                        Tok::RParen => {
                            self.bump();
                            break;
                        }
                        _ => return self.error("expected ',' or ')'"),
                    }
                }
                if args.len() != *arity {
                    return self.error(format!(
                        "{name} takes {arity} argument(s), got {}",
                        args.len()
                    ));
                }
                Ok(Expr::Call { func: name, args })
            }
            Tok::End => self.error("the claim ends too early"),
            other => self.error(format!("unexpected {}", describe(&other))),
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(n) => format!("number {n}"),
        Tok::Ident(s) => format!("'{s}'"),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
        Tok::Op(o) => format!("'{o}'"),
        Tok::End => "end".into(),
    }
}

fn bin(op: Op, lhs: Expr, rhs: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

/// Parses a claim; the whole text must be one boolean expression.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let toks = tokenize(text)?;
    let mut p = Parser { toks, pos: 0 };
    let e = p.expr()?;
    if p.peek() != &Tok::End {
        return p.error(format!("unexpected {} after the claim", describe(p.peek())));
    }
    if !is_boolean(&e) {
        return Err(ParseError {
            column: 1,
            message: "a claim must be a comparison, e.g. speedup(a/x, a/y) > 2".into(),
        });
    }
    Ok(e)
}

fn is_boolean(e: &Expr) -> bool {
    match e {
        Expr::Not(_) => true,
        Expr::Binary { op, .. } => matches!(
            op,
            Op::Or | Op::And | Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Eq | Op::Ne
        ),
        _ => false,
    }
}

/// Where a claim gets its numbers from (the measurement store in a build, a table in tests).
pub trait Values {
    /// The value of `func(args)`, or why it is not available.
    fn value(&self, func: &str, args: &[String]) -> Result<f64, String>;
}

/// The outcome of evaluating a claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub holds: bool,
    /// Every measured value the claim used, as `speedup(a, b) = 3.91`.
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Val {
    Num(f64),
    Bool(bool),
}

/// Evaluates a parsed claim.
pub fn evaluate(e: &Expr, values: &dyn Values) -> Result<Verdict, String> {
    let mut used = Vec::new();
    match eval(e, values, &mut used)? {
        Val::Bool(holds) => Ok(Verdict {
            holds,
            values: used,
        }),
        Val::Num(_) => Err("the claim is a number, not a comparison".into()),
    }
}

fn eval(e: &Expr, values: &dyn Values, used: &mut Vec<String>) -> Result<Val, String> {
    Ok(match e {
        Expr::Number(n) => Val::Num(*n),
        Expr::Call { func, args } => {
            let v = values.value(func, args)?;
            let shown = format!("{func}({}) = {}", args.join(", "), format_value(v));
            if !used.contains(&shown) {
                used.push(shown);
            }
            Val::Num(v)
        }
        Expr::Neg(x) => Val::Num(-num(eval(x, values, used)?)?),
        Expr::Not(x) => Val::Bool(!boolean(eval(x, values, used)?)?),
        Expr::Binary { op, lhs, rhs } => {
            let l = eval(lhs, values, used)?;
            let r = eval(rhs, values, used)?;
            match op {
                Op::Or => Val::Bool(boolean(l)? || boolean(r)?),
                Op::And => Val::Bool(boolean(l)? && boolean(r)?),
                Op::Lt => Val::Bool(num(l)? < num(r)?),
                Op::Le => Val::Bool(num(l)? <= num(r)?),
                Op::Gt => Val::Bool(num(l)? > num(r)?),
                Op::Ge => Val::Bool(num(l)? >= num(r)?),
                Op::Eq => Val::Bool(num(l)? == num(r)?),
                Op::Ne => Val::Bool(num(l)? != num(r)?),
                Op::Add => Val::Num(num(l)? + num(r)?),
                Op::Sub => Val::Num(num(l)? - num(r)?),
                Op::Mul => Val::Num(num(l)? * num(r)?),
                Op::Div => Val::Num(num(l)? / num(r)?),
            }
        }
    })
}

fn num(v: Val) -> Result<f64, String> {
    match v {
        Val::Num(n) => Ok(n),
        Val::Bool(_) => Err("a comparison was used where a number is needed".into()),
    }
}

fn boolean(v: Val) -> Result<bool, String> {
    match v {
        Val::Bool(b) => Ok(b),
        Val::Num(_) => Err("a number was used where a comparison is needed".into()),
    }
}

/// Three significant digits, the precision the guide prints.
pub fn format_value(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = 3 - 1 - v.abs().log10().floor() as i32;
    if digits > 0 {
        format!("{v:.*}", digits as usize)
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Table(BTreeMap<String, f64>);

    impl Values for Table {
        fn value(&self, func: &str, args: &[String]) -> Result<f64, String> {
            let key = format!("{func}({})", args.join(","));
            self.0
                .get(&key)
                .copied()
                .ok_or(format!("no value for {key}"))
        }
    }

    fn table() -> Table {
        Table(
            [
                ("speedup(m/rayon,m/scalar)".to_string(), 1.93),
                ("median(m/scalar)".to_string(), 0.097),
                ("gflops(m/best)".to_string(), 133.0),
            ]
            .into_iter()
            .collect(),
        )
    }

    #[test]
    fn true_and_false_claims() {
        let t = table();
        let yes = parse("speedup(m/rayon, m/scalar) > 1.5").unwrap();
        let v = evaluate(&yes, &t).unwrap();
        assert!(v.holds);
        assert_eq!(v.values, ["speedup(m/rayon, m/scalar) = 1.93"]);

        let no = parse("speedup(m/rayon, m/scalar) > 2 and gflops(m/best) > 100").unwrap();
        assert!(!evaluate(&no, &t).unwrap().holds);
        let either = parse("speedup(m/rayon, m/scalar) > 2 or not gflops(m/best) < 100").unwrap();
        assert!(evaluate(&either, &t).unwrap().holds);
    }

    #[test]
    fn arithmetic_and_precedence() {
        let t = table();
        let e = parse("median(m/scalar) * 1000 - 90 + 3 * 2 > 12.9").unwrap();
        assert!(evaluate(&e, &t).unwrap().holds); // 97 - 90 + 6 = 13
        let e = parse("-(median(m/scalar)) < 0").unwrap();
        assert!(evaluate(&e, &t).unwrap().holds);
    }

    #[test]
    fn malformed_claims_have_columns() {
        let e = parse("speedup(m/a m/b) > 2").unwrap_err();
        assert_eq!(e.column, 13);
        let e = parse("speedupp(m/a, m/b) > 2").unwrap_err();
        assert_eq!(e.column, 1);
        assert!(e.message.contains("unknown function"));
        let e = parse("median(m/a) > ").unwrap_err();
        assert!(e.message.contains("ends too early"));
        let e = parse("median(m/a)").unwrap_err();
        assert!(e.message.contains("comparison"));
        let e = parse("1 < 2 < 3").unwrap_err();
        assert!(e.message.contains("chained"));
        let e = parse("median(m/a, m/b) > 1").unwrap_err();
        assert!(e.message.contains("takes 1"));
        let e = parse("median(m/a) > 1 $").unwrap_err();
        assert_eq!(e.column, 17);
    }

    #[test]
    fn missing_values_are_errors() {
        let e = parse("median(x/y) > 1").unwrap();
        assert!(evaluate(&e, &table()).unwrap_err().contains("no value"));
    }

    #[test]
    fn value_formatting() {
        assert_eq!(format_value(1.934), "1.93");
        assert_eq!(format_value(133.4), "133");
        assert_eq!(format_value(0.0971), "0.0971");
        assert_eq!(format_value(12.0), "12.0");
    }
}
