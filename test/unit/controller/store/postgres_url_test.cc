#include "controller/store/postgres_url.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace cenv {
namespace {

TEST_CASE("redacted_url masks every form of password", "[store][postgres]") {
  struct Row {
    std::string in, out;
  };
  const std::vector<Row> rows = {
      {"postgres://cenv:s3cret@db.example:5432/cenv?sslmode=require",
       "postgres://cenv:***@db.example:5432/cenv?sslmode=require"},
      {"postgresql://cenv:s3cret@db/cenv", "postgresql://cenv:***@db/cenv"},
      {"postgres://cenv@db/cenv", "postgres://cenv@db/cenv"},
      {"postgres://db/cenv", "postgres://db/cenv"},
      {"postgres://cenv:p@ss@db/cenv", "postgres://cenv:***@db/cenv"},
      {"postgres://cenv:p%40ss@db/cenv", "postgres://cenv:***@db/cenv"},
      {"postgres://cenv:pa/ss@db/cenv", "postgres://cenv:***@db/cenv"},
      {"postgres://cenv:p?ss@db/cenv", "postgres://cenv:***@db/cenv"},
      {"postgres://cenv:s3cret@db", "postgres://cenv:***@db"},
      {"postgres://db:5432/cenv?user=a@b", "postgres://db:5432/cenv?user=a@b"},
      {"postgres://cenv:@db/cenv", "postgres://cenv:***@db/cenv"},
      {"postgres://db/cenv?user=cenv&password=s3cret&sslmode=disable",
       "postgres://db/cenv?user=cenv&password=***&sslmode=disable"},
      {"postgres://db/cenv?sslpassword=s3cret", "postgres://db/cenv?sslpassword=***"},
      {"postgres://db/cenv?%70assword=s3cret", "postgres://db/cenv?%70assword=***"},
      {"postgres://u:s3cret@[::1]:5432/cenv", "postgres://u:***@[::1]:5432/cenv"},
      {"host=db dbname=cenv user=cenv password=s3cret",
       "host=db dbname=cenv user=cenv password=***"},
      {"host=db password = s3cret port=5432", "host=db password = *** port=5432"},
      {"password='s3 cr\\'et' host=db", "password=*** host=db"},
      {"host=db PASSWORD=s3cret", "host=db PASSWORD=***"},
      {"host=db password", "host=db password"},
      {"host=db password s3cret", "host=db password ***"},
      {"/var/lib/cenv/cenv.db", "/var/lib/cenv/cenv.db"},
      {"", ""},
  };
  for (const Row& row : rows) {
    INFO(row.in);
    CHECK(redacted_url(row.in) == row.out);
  }
}

TEST_CASE("mask_password masks every occurrence of the password", "[store][postgres]") {
  struct Row {
    std::string text, password, out;
  };
  const std::vector<Row> rows = {
      {"cannot connect: password s3cret refused", "s3cret", "cannot connect: password *** refused"},
      {"s3crets3cret and s3cret", "s3cret", "****** and ***"},
      {"no secret here", "s3cret", "no secret here"},
      {"kept as it is", "", "kept as it is"},
      // A password the mask contains is not found in the mask again.
      {"a*b", "*", "a***b"},
      {"**", "*", "******"},
  };
  for (const Row& row : rows) {
    INFO(row.text << " / " << row.password);
    CHECK(mask_password(row.text, row.password) == row.out);
  }
}

}  // namespace
}  // namespace cenv
