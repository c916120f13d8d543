//! What the two SQL engines share, so a room can write its store once over
//! [`sqlx::Database`] and leave each backend only what is really its own.
//!
//! - [`SqlEngine`]: SQLite or Postgres — the name its errors carry, how its
//!   driver errors map, and the little that generic code cannot do over a
//!   generic `Database` (count changed rows, run a built statement).
//! - [`SqlUuid`] and [`TextList`]: the two column types the engines store
//!   differently — a UUID is hyphenated `TEXT` in the embedded file and a
//!   `uuid` in Postgres; a list of names is a JSON array in `TEXT` there
//!   and a `TEXT[]` here. Each binds and decodes as its engine stores it,
//!   so one bound value and one row struct serve both. JSON documents need
//!   nothing of ours: [`sqlx::types::Json`] is `TEXT` in SQLite and `jsonb`
//!   in Postgres already.
//!
//! Placeholders need nothing either: sqlx's SQLite binds `$1`, `$2`… by
//! number as Postgres does, so a statement without casts or
//! engine-specific functions is one file for both.

use futures::future::BoxFuture;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, FromRow, Pool, QueryBuilder, Type};
use uuid::Uuid;

use crate::error::Error;

/// A SQL engine hive-core keeps rooms in.
pub(crate) trait SqlEngine: Database {
    /// The backend's name in errors and `backend()`: `"sqlite"` or
    /// `"postgres"`.
    const BACKEND: &'static str;

    /// A driver error as [`Error::Backend`] of this engine.
    fn db_err(e: sqlx::Error) -> Error {
        Error::backend(Self::BACKEND, e)
    }

    /// A driver error of a store that keeps callers' text as given: text
    /// the engine cannot hold is the caller's [`Error::InvalidInput`], not
    /// a failing backend; anything else as [`SqlEngine::db_err`].
    fn db_or_input_err(e: sqlx::Error) -> Error {
        Self::db_err(e)
    }

    /// How many rows a statement changed (sqlx answers it per engine).
    fn rows_affected(done: &Self::QueryResult) -> u64;

    /// Runs the statement `qb` built on `pool` and answers its rows.
    ///
    /// Written per engine because only a concrete builder can lend its
    /// arguments to the statement: sqlx ties them to the builder's
    /// lifetime, and behind a generic `Database` that tie cannot shorten to
    /// the borrow, so generic code that builds a statement runs it here.
    fn fetch_built<'a, O>(
        qb: &'a mut QueryBuilder<'_, Self>,
        pool: &'a Pool<Self>,
    ) -> BoxFuture<'a, sqlx::Result<Vec<O>>>
    where
        O: for<'r> FromRow<'r, Self::Row> + Send + Unpin + 'a;
}

/// The items that read the same for every engine but compile only over its
/// concrete types (see [`SqlEngine::fetch_built`]): written once here and
/// stamped into each engine's impl.
macro_rules! concrete_alike {
    () => {
        fn rows_affected(done: &Self::QueryResult) -> u64 {
            done.rows_affected()
        }

        fn fetch_built<'a, O>(
            qb: &'a mut QueryBuilder<'_, Self>,
            pool: &'a Pool<Self>,
        ) -> BoxFuture<'a, sqlx::Result<Vec<O>>>
        where
            O: for<'r> FromRow<'r, Self::Row> + Send + Unpin + 'a,
        {
            Box::pin(qb.build_query_as().fetch_all(pool))
        }
    };
}

#[cfg(feature = "sqlite")]
impl SqlEngine for sqlx::Sqlite {
    const BACKEND: &'static str = "sqlite";

    concrete_alike!();
}

#[cfg(feature = "postgres")]
impl SqlEngine for sqlx::Postgres {
    const BACKEND: &'static str = "postgres";

    /// A NUL character (`22021`), or `\u0000` inside `jsonb` (`22P05`):
    /// Postgres refuses both.
    fn db_or_input_err(e: sqlx::Error) -> Error {
        if let Some(db) = e.as_database_error() {
            if matches!(db.code().as_deref(), Some("22P05" | "22021")) {
                return Error::invalid(format!("postgres cannot store this text: {db}"));
            }
        }
        Self::db_err(e)
    }

    concrete_alike!();
}

/// A UUID column: hyphenated lowercase `TEXT` in SQLite (whose order is
/// the UUID's byte order), `uuid` in Postgres.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SqlUuid(pub Uuid);

/// A list of text: a JSON array in a SQLite `TEXT` column, a `TEXT[]` in
/// Postgres.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TextList(pub Vec<String>);

#[cfg(feature = "sqlite")]
mod sqlite {
    use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
    use sqlx::Sqlite;
    use uuid::fmt::Hyphenated;

    use super::*;

    impl Type<Sqlite> for SqlUuid {
        fn type_info() -> SqliteTypeInfo {
            <Hyphenated as Type<Sqlite>>::type_info()
        }
    }

    impl<'q> Encode<'q, Sqlite> for SqlUuid {
        fn encode_by_ref(
            &self,
            buf: &mut Vec<SqliteArgumentValue<'q>>,
        ) -> Result<IsNull, BoxDynError> {
            <Hyphenated as Encode<'q, Sqlite>>::encode(self.0.hyphenated(), buf)
        }
    }

    impl<'r> Decode<'r, Sqlite> for SqlUuid {
        fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
            Ok(SqlUuid(
                <Hyphenated as Decode<'r, Sqlite>>::decode(value)?.into_uuid(),
            ))
        }
    }

    impl Type<Sqlite> for TextList {
        fn type_info() -> SqliteTypeInfo {
            <String as Type<Sqlite>>::type_info()
        }

        fn compatible(ty: &SqliteTypeInfo) -> bool {
            <String as Type<Sqlite>>::compatible(ty)
        }
    }

    impl<'q> Encode<'q, Sqlite> for TextList {
        fn encode_by_ref(
            &self,
            buf: &mut Vec<SqliteArgumentValue<'q>>,
        ) -> Result<IsNull, BoxDynError> {
            <String as Encode<'q, Sqlite>>::encode(serde_json::to_string(&self.0)?, buf)
        }
    }

    impl<'r> Decode<'r, Sqlite> for TextList {
        fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
            let text = <&str as Decode<'r, Sqlite>>::decode(value)?;
            Ok(TextList(serde_json::from_str(text)?))
        }
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
    use sqlx::Postgres;

    use super::*;

    impl Type<Postgres> for SqlUuid {
        fn type_info() -> PgTypeInfo {
            <Uuid as Type<Postgres>>::type_info()
        }
    }

    impl Encode<'_, Postgres> for SqlUuid {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            <Uuid as Encode<Postgres>>::encode_by_ref(&self.0, buf)
        }
    }

    impl<'r> Decode<'r, Postgres> for SqlUuid {
        fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
            Ok(SqlUuid(<Uuid as Decode<'r, Postgres>>::decode(value)?))
        }
    }

    impl Type<Postgres> for TextList {
        fn type_info() -> PgTypeInfo {
            <Vec<String> as Type<Postgres>>::type_info()
        }

        fn compatible(ty: &PgTypeInfo) -> bool {
            <Vec<String> as Type<Postgres>>::compatible(ty)
        }
    }

    impl Encode<'_, Postgres> for TextList {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            <Vec<String> as Encode<Postgres>>::encode_by_ref(&self.0, buf)
        }
    }

    impl<'r> Decode<'r, Postgres> for TextList {
        fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
            Ok(TextList(<Vec<String> as Decode<'r, Postgres>>::decode(
                value,
            )?))
        }
    }
}
