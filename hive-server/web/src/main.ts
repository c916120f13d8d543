// The dashboard's entry: the app shell (header, navigation, connection state,
// banners) and its views. All data comes from the server through src/store.ts.
import './app';
