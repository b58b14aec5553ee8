// Placeholder replaced by the shape-formula tests.
#include "kiln/Dialect/NN/ShapeFormulas.h"
#include <gtest/gtest.h>
TEST(ShapeFormulas, Basic) {
  std::string why;
  EXPECT_EQ(kiln::shape::windowOutputSize(28, {5, 1, 1, 0, 0, false}, &why), 24);
}
