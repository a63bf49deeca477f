#pragma once
// Failure vocabulary shared by every layer.
//
// Three kinds of failure are kept apart:
//  - bugs in our own code: assert();
//  - rejected outside input (a bad file, a bad object from a peer): a value, Expected<T, E>,
//    returned to the caller who decides what to tell the user;
//  - environment failures (disk full, LMDB error, unreadable file): fieldsync::Error, thrown,
//    caught only at boundaries (main, a session loop, a writer's batch loop).

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace fieldsync {

/// What the caller of a failed operation should do next.
enum class Action {
  Fail,     // nothing to retry: report and stop
  BackOff,  // overloaded or full: try again later, more slowly
  Retry,    // disconnected or interrupted: try again
};

/// An environment failure. what() names the call that failed and why, e.g.
/// "mdb_txn_commit: MDB_MAP_FULL: Environment mapsize limit reached".
class Error : public std::runtime_error {
 public:
  explicit Error(std::string what, Action action = Action::Fail)
      : std::runtime_error(std::move(what)), m_action(action) {}
  Action action() const { return m_action; }

 private:
  Action m_action;
};

/// Either a value or the reason it could not be had. For expected failures of outside
/// input; never thrown. Accessing the wrong alternative is a bug (std::bad_variant_access).
template <typename T, typename E>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : m_v(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  Expected(E error) : m_v(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  T&& value() && { return std::get<0>(std::move(m_v)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const { return std::get<1>(m_v); }

 private:
  std::variant<T, E> m_v;
};

}  // namespace fieldsync
