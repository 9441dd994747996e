/* The scripts' messages in the reader's language. The server puts their translations on
   <body data-messages> (none for English, the source language); `_(message, values)` looks
   one up and fills its {name} placeholders from `values`; `ngettext(singular, plural, count,
   values)` picks the form for `count` by the language's plural rules. */
window.imagehost = window.imagehost || {};
(function () {
  "use strict";
  let catalogue = null;

  function has(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }

  function translations() {
    if (catalogue === null) {
      try {
        catalogue = JSON.parse(document.body.dataset.messages || "{}");
      } catch (e) {
        catalogue = {};
      }
    }
    return catalogue;
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && has(values, name) ? String(values[name]) : whole;
    });
  }

  function language() {
    return document.documentElement.lang || "en";
  }

  window.imagehost._ = function (message, values) {
    const found = translations();
    return fill(has(found, message) ? found[message] : message, values);
  };

  window.imagehost.ngettext = function (singular, plural, count, values) {
    const forms = translations()[singular];
    const category = new Intl.PluralRules(language()).select(count);
    const text = forms && has(forms, category) ? forms[category] : count === 1 ? singular : plural;
    return fill(text, values);
  };

  /* Numbers as the page's language writes them (<html lang>): 1,048,576 or 1 048 576. */
  window.imagehost.number = function (value, decimals) {
    return new Intl.NumberFormat(language(), {
      minimumFractionDigits: decimals || 0,
      maximumFractionDigits: decimals || 0,
    }).format(value);
  };
})();
