// Everything the engine knows per op, in one place (ops.cc): its NetIR name,
// the fields its entry in TypeScript's op table sends (src/net/ops.ts,
// native()), how those bind to a Node, and, as Model members defined there,
// the tensors it owns and its forward pass. Adding an op is its enum value
// (model.h) and its entries in ops.cc.
#pragma once

#include <map>
#include <string>

#include "model.h"

namespace evonas {

// The op a NetIR name denotes. @throws std::invalid_argument for an unknown one.
Op opNamed(const std::string& name);

// One field of a node as sent: a number, or a boolean (as 1 or 0).
struct FieldValue {
  double value = 0;
  bool boolean = false;
};

// Sets `node`'s op-specific members from `fields`, as read generically from the node's `fields` object.
// @throws std::invalid_argument naming the node and field: one missing, unknown, mistyped or out of range.
void bindFields(Node& node, const std::map<std::string, FieldValue>& fields);

}  // namespace evonas
