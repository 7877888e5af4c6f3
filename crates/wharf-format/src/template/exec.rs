//! Template execution, a port of Go's `text/template/exec.go` over JSON.
//!
//! Objects play the part of Go maps: a missing key yields "no value"
//! (printed `<no value>`), and `range` visits keys in sorted order.

use std::fmt::Display;
use std::io::Write;

use serde_json::Value;

use super::ast::{Arg, Branch, Command, Node, Pipe};
use super::funcs::{self, FuncError};
use super::value::Val;
use crate::gofmt::sprint_value;
use crate::FormatError;

type EResult<T> = Result<T, FormatError>;

/// Column titles for table headers: field name → title.
pub(crate) type Headers<'h> = &'h [(&'h str, &'h str)];

/// How a list of nodes finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

struct Exec<'t, 'a, 'w> {
    src: &'t str,
    vars: Vec<(&'t str, Val<'a>)>,
    /// Where text goes as it is produced: nothing is collected here, so a
    /// long `range` costs time, not memory.
    out: &'w mut dyn Write,
    /// Table-header mode: every field yields its column title.
    header: Option<Headers<'a>>,
}

/// Executes a parsed template into `out`. With `header`, fields evaluate
/// to their column titles and docker's header functions are used.
pub(crate) fn execute<'a>(
    src: &str,
    root: &[Node],
    data: &'a Value,
    header: Option<Headers<'a>>,
    out: &mut dyn Write,
) -> EResult<()> {
    let mut e = Exec {
        src,
        vars: vec![("$", Val::borrowed(data))],
        out,
        header,
    };
    e.walk(&Val::borrowed(data), root)?;
    Ok(())
}

/// What a `range` visits: integers are counted, not collected (`range
/// 1000000000` must not allocate a billion entries).
enum RangeItems<'a> {
    Count(std::ops::Range<i64>),
    Entries(std::vec::IntoIter<(Val<'a>, Val<'a>)>),
}

impl<'a> Iterator for RangeItems<'a> {
    type Item = (Val<'a>, Val<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            RangeItems::Count(r) => r.next().map(|i| (Val::owned(i), Val::owned(i))),
            RangeItems::Entries(e) => e.next(),
        }
    }
}

impl<'t, 'a> Exec<'t, 'a, '_> {
    /// Go's `template: :LINE:COL: executing "" at <CONTEXT>: MESSAGE`.
    fn error(&self, pos: usize, context: &dyn Display, msg: impl Display) -> FormatError {
        let before = &self.src[..pos.min(self.src.len())];
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => before.len() - (nl + 1),
            None => before.len(),
        };
        FormatError::Exec(format!(
            "template: :{line}:{col}: executing \"\" at <{context}>: {msg}"
        ))
    }

    fn walk(&mut self, dot: &Val<'a>, nodes: &'t [Node]) -> EResult<Flow> {
        for node in nodes {
            let flow = match node {
                Node::Text(text) => {
                    self.out.write_all(text.as_bytes())?;
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let value = self.eval_pipeline_raw(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        self.print_value(&value)?;
                    } else {
                        self.declare(pipe, value)?;
                    }
                    Flow::Normal
                }
                Node::If(b) => self.walk_if_or_with(dot, b, false)?,
                Node::With(b) => self.walk_if_or_with(dot, b, true)?,
                Node::Range(b) => self.walk_range(dot, b)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn print_value(&mut self, v: &Val<'_>) -> EResult<()> {
        match v.get() {
            None => self.out.write_all(b"<no value>")?,
            Some(v) => self.out.write_all(sprint_value(v).as_bytes())?,
        }
        Ok(())
    }

    fn walk_if_or_with(&mut self, dot: &Val<'a>, b: &'t Branch, with: bool) -> EResult<Flow> {
        let mark = self.vars.len();
        let value = self.eval_pipeline(dot, &b.pipe)?;
        let flow = if value.truth() {
            if with {
                self.walk(&value, &b.list)
            } else {
                self.walk(dot, &b.list)
            }
        } else if let Some(else_list) = &b.else_list {
            self.walk(dot, else_list)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        flow
    }

    fn walk_range(&mut self, dot: &Val<'a>, b: &'t Branch) -> EResult<Flow> {
        let mark = self.vars.len();
        let value = self.eval_pipeline_raw(dot, &b.pipe)?;
        let pipe = &b.pipe;
        if !pipe.is_assign {
            for name in &pipe.decl {
                self.vars.push((name.as_str(), Val::Missing));
            }
        }
        let inner = self.vars.len();
        let items = match &value {
            Val::Missing => Some(RangeItems::Count(0..0)),
            Val::V(v) => match v.as_ref() {
                Value::Null => Some(RangeItems::Count(0..0)),
                Value::Number(n) if n.as_i64().is_some() || n.as_u64().is_some() => {
                    if pipe.decl.len() > 1 {
                        return Err(self.error(
                            pipe.pos,
                            pipe,
                            format_args!(
                                "can't use {} to iterate over more than one variable",
                                sprint_value(v)
                            ),
                        ));
                    }
                    let n = n.as_i64().unwrap_or(i64::MAX).max(0);
                    Some(RangeItems::Count(0..n))
                }
                Value::Array(_) | Value::Object(_) => None,
                other => {
                    return Err(self.error(
                        pipe.pos,
                        pipe,
                        format_args!("range can't iterate over {}", sprint_value(other)),
                    ))
                }
            },
        };
        let items = match items {
            Some(items) => items,
            None => RangeItems::Entries(value.into_entries().unwrap_or_default().into_iter()),
        };
        let mut ran = false;
        for (index, elem) in items {
            ran = true;
            let n = pipe.decl.len();
            if n > 0 {
                if pipe.is_assign {
                    let first = if n > 1 { index.clone() } else { elem.clone() };
                    self.set_var(pipe, &pipe.decl[0], first)?;
                    if n > 1 {
                        self.set_var(pipe, &pipe.decl[1], elem.clone())?;
                    }
                } else {
                    // The lexically last variable gets the element, the one
                    // before it the index.
                    self.vars[inner - 1].1 = elem.clone();
                    if n > 1 {
                        self.vars[inner - 2].1 = index;
                    }
                }
            }
            let flow = self.walk(&elem, &b.list)?;
            self.vars.truncate(inner);
            if flow == Flow::Break {
                break;
            }
        }
        let flow = match (&b.else_list, ran) {
            (Some(else_list), false) => self.walk(dot, else_list)?,
            _ => Flow::Normal,
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    /// Evaluates a pipeline and declares or assigns its variables.
    fn eval_pipeline(&mut self, dot: &Val<'a>, pipe: &'t Pipe) -> EResult<Val<'a>> {
        let value = self.eval_pipeline_raw(dot, pipe)?;
        if !pipe.decl.is_empty() {
            self.declare(pipe, value.clone())?;
        }
        Ok(value)
    }

    fn declare(&mut self, pipe: &'t Pipe, value: Val<'a>) -> EResult<()> {
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(pipe, name, value.clone())?;
            } else {
                self.vars.push((name.as_str(), value.clone()));
            }
        }
        Ok(())
    }

    fn set_var(&mut self, pipe: &Pipe, name: &str, value: Val<'a>) -> EResult<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => Err(self.error(pipe.pos, pipe, format_args!("undefined variable: {name}"))),
        }
    }

    fn var_value(&self, pos: usize, name: &str) -> EResult<Val<'a>> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.error(pos, &name, format_args!("undefined variable: {name}"))),
        }
    }

    /// The pipeline's value, without touching its variables.
    fn eval_pipeline_raw(&mut self, dot: &Val<'a>, pipe: &'t Pipe) -> EResult<Val<'a>> {
        let mut value: Option<Val<'a>> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        Ok(value.unwrap_or(Val::Missing))
    }

    /// One pipeline stage; `last` is the previous stage's value, passed as
    /// the final argument.
    fn eval_command(
        &mut self,
        dot: &Val<'a>,
        cmd: &'t Command,
        last: Option<Val<'a>>,
    ) -> EResult<Val<'a>> {
        let first = &cmd.args[0];
        let has_args = cmd.args.len() > 1 || last.is_some();
        match first {
            Arg::Field { pos, idents } => {
                return self.eval_field(dot, *pos, first, idents, has_args)
            }
            Arg::Chain { pos, node, fields } => {
                if matches!(**node, Arg::Nil(_)) {
                    return Err(self.error(
                        *pos,
                        first,
                        format_args!("indirection through explicit nil in {first}"),
                    ));
                }
                let receiver = self.eval_arg(dot, node)?;
                return self.field_chain(receiver, *pos, first, fields, has_args);
            }
            Arg::Identifier { pos, name } => {
                return self.eval_function(dot, *pos, name, cmd, &cmd.args[1..], last)
            }
            Arg::Variable { pos, idents } => {
                if idents.len() == 1 {
                    self.not_a_function(cmd, has_args)?;
                    return self.var_value(*pos, &idents[0]);
                }
                return self.eval_variable_chain(*pos, first, idents, has_args);
            }
            _ => {}
        }
        self.not_a_function(cmd, has_args)?;
        match first {
            Arg::Pipe(p) => self.eval_pipeline(dot, p),
            Arg::Bool(_, b) => Ok(Val::owned(*b)),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(pos) => Err(self.error(*pos, first, "nil is not a command")),
            Arg::Number { value, .. } => Ok(Val::owned(value.clone())),
            Arg::String { value, .. } => Ok(Val::owned(value.clone())),
            _ => unreachable!("handled above"),
        }
    }

    fn not_a_function(&self, cmd: &Command, has_args: bool) -> EResult<()> {
        if has_args {
            let first = &cmd.args[0];
            return Err(self.error(
                first.pos(),
                first,
                format_args!("can't give argument to non-function {first}"),
            ));
        }
        Ok(())
    }

    /// An operand used as an argument (no arguments of its own).
    fn eval_arg(&mut self, dot: &Val<'a>, arg: &'t Arg) -> EResult<Val<'a>> {
        match arg {
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Ok(Val::owned(Value::Null)),
            Arg::Field { pos, idents } => self.eval_field(dot, *pos, arg, idents, false),
            Arg::Variable { pos, idents } if idents.len() == 1 => self.var_value(*pos, &idents[0]),
            Arg::Variable { pos, idents } => self.eval_variable_chain(*pos, arg, idents, false),
            Arg::Pipe(p) => self.eval_pipeline(dot, p),
            Arg::Identifier { pos, name } => {
                let cmd = Command {
                    pos: *pos,
                    args: vec![arg.clone()],
                };
                self.eval_function(dot, *pos, name, &cmd, &[], None)
            }
            Arg::Chain { pos, node, fields } => {
                if matches!(**node, Arg::Nil(_)) {
                    return Err(self.error(
                        *pos,
                        arg,
                        format_args!("indirection through explicit nil in {arg}"),
                    ));
                }
                let receiver = self.eval_arg(dot, node)?;
                self.field_chain(receiver, *pos, arg, fields, false)
            }
            Arg::Bool(_, b) => Ok(Val::owned(*b)),
            Arg::Number { value, .. } => Ok(Val::owned(value.clone())),
            Arg::String { value, .. } => Ok(Val::owned(value.clone())),
        }
    }

    /// The column title for a field path in header mode.
    fn title(&self, path: &str) -> Option<Val<'a>> {
        let headers = self.header?;
        let title = headers
            .iter()
            .find(|(field, _)| *field == path)
            .map_or_else(|| path.to_uppercase(), |(_, title)| title.to_string());
        Some(Val::owned(title))
    }

    /// `.A.B` relative to dot.
    fn eval_field(
        &mut self,
        dot: &Val<'a>,
        pos: usize,
        node: &Arg,
        idents: &[String],
        has_args: bool,
    ) -> EResult<Val<'a>> {
        if let Some(title) = self.title(&idents.join(".")) {
            return Ok(title);
        }
        // Take the first step through the reference, so that dot itself is
        // not cloned.
        if idents.len() > 1 || !has_args {
            if let Some(v) = dot.field(&idents[0]) {
                return self.field_chain(v, pos, node, &idents[1..], has_args);
            }
        }
        self.field_chain(dot.clone(), pos, node, idents, has_args)
    }

    /// `$x.A.B`
    fn eval_variable_chain(
        &mut self,
        pos: usize,
        node: &Arg,
        idents: &[String],
        has_args: bool,
    ) -> EResult<Val<'a>> {
        if let Some(title) = self.title(&idents[1..].join(".")) {
            return Ok(title);
        }
        let receiver = self.var_value(pos, &idents[0])?;
        self.field_chain(receiver, pos, node, &idents[1..], has_args)
    }

    /// Go's `evalFieldChain`: successive field lookups.
    fn field_chain(
        &self,
        mut receiver: Val<'a>,
        pos: usize,
        node: &Arg,
        idents: &[String],
        has_args: bool,
    ) -> EResult<Val<'a>> {
        for (i, name) in idents.iter().enumerate() {
            let last = i + 1 == idents.len();
            if receiver.is_nil() {
                // A nil receiver yields no value, as for Go maps.
                return Ok(Val::Missing);
            }
            if last && has_args && matches!(receiver.get(), Some(Value::Object(_))) {
                return Err(self.error(
                    pos,
                    node,
                    format_args!("{name} is not a method but has arguments"),
                ));
            }
            let type_name = receiver.get().map_or("<nil>", crate::gofmt::type_name);
            receiver = match receiver.into_field(name) {
                Some(v) => v,
                None => {
                    return Err(self.error(
                        pos,
                        node,
                        format_args!("can't evaluate field {name} in type {type_name}"),
                    ))
                }
            };
        }
        Ok(receiver)
    }

    fn eval_function(
        &mut self,
        dot: &Val<'a>,
        pos: usize,
        name: &str,
        cmd: &Command,
        args: &'t [Arg],
        last: Option<Val<'a>>,
    ) -> EResult<Val<'a>> {
        let n = args.len() + usize::from(last.is_some());
        if let Err(msg) = funcs::check_arity(name, n) {
            return Err(self.error(pos, &name, msg));
        }
        if name == "and" || name == "or" {
            let want = name == "or";
            let mut v = Val::Missing;
            for arg in args {
                v = self.eval_arg(dot, arg)?;
                if v.truth() == want {
                    return Ok(v);
                }
            }
            return Ok(last.unwrap_or(v));
        }
        let mut values = Vec::with_capacity(n);
        for arg in args {
            values.push(self.eval_arg(dot, arg)?);
        }
        values.extend(last);
        funcs::call(name, values, self.header.is_some()).map_err(|e| match e {
            FuncError::Type(msg) => self.error(cmd.pos, cmd, msg),
            FuncError::Call(msg) => {
                self.error(cmd.pos, cmd, format_args!("error calling {name}: {msg}"))
            }
        })
    }
}
