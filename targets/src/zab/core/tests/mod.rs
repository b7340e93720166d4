//! Tests of the ZAB core.
