//! [`setters!`]: builder methods that set one field each, written as one
//! line apiece instead of five.
//!
//! Query and entry types (`NewEntry`, `Filter`, `VectorQuery`, …) are built
//! by chaining small methods, `Filter::any().agent("a").pinned(true)`,
//! each of which stores its argument in the field of its own name and hands
//! the value back. The macro writes that body once; each method keeps its
//! doc comment and its signature where the type is defined.

/// Builder methods, each setting the field of its own name and returning
/// `self`:
///
/// - `name(arg: Type);` stores `arg`;
/// - `name(arg: Type) => expr;` stores `expr`, e.g. `Some(arg.into())`.
///
/// Used inside an `impl` block; doc comments before each line become the
/// method's.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident($arg:ident: $ty:ty) $(=> $value:expr)?;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, $arg: $ty) -> Self {
                self.$name = $crate::setters::setters!(@value $arg $(, $value)?);
                self
            }
        )*
    };
    (@value $arg:ident) => {
        $arg
    };
    (@value $arg:ident, $value:expr) => {
        $value
    };
}

pub(crate) use setters;
