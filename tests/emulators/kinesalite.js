// kinesalite's CLI binds every interface; tests listen on loopback only. Usage: node kinesalite.js PORT [DATA_DIR]
const [port, path] = [Number(process.argv[2]), process.argv[3]];
require('kinesalite')({ createStreamMs: 50, deleteStreamMs: 50, updateStreamMs: 50, path }).listen(port, '127.0.0.1', () => console.log(`kinesalite on 127.0.0.1:${port}`));
